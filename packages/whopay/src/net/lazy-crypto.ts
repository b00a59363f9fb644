// BBS04 worker threads made at the first group signature, not at start: a
// daemon that hosts WhoPay but never uses it (most test swarms of the other
// schemes) starts no threads and loads no wasm.
import { ErrorCode, P2payError } from '@p2pay/core'
import { groupPool, type GroupCrypto } from '../core/group-pool.ts'

export function lazyGroupCrypto(size?: number): GroupCrypto {
  let pool: GroupCrypto | undefined
  let closed = false
  const get = (): GroupCrypto => {
    if (closed) throw new P2payError(ErrorCode.ABORTED, 'the group crypto pool is closed')
    return (pool ??= groupPool(size))
  }
  return {
    sign: async (gpk, memberKey, msg) => await get().sign(gpk, memberKey, msg),
    verify: async (gpk, msg, sig) => await get().verify(gpk, msg, sig),
    open: async (gpk, openerKey, sig) => await get().open(gpk, openerKey, sig),
    close: async () => {
      closed = true
      await pool?.close()
    }
  }
}
