// The purse: one Ed25519 key per node that deposits credit at the broker (its
// books name the purse key, never the holder). Withdrawing moves purse money to
// this node's account, signed by the purse key and sent under the node's
// long-term identity: the one place a holder links itself to its money.
import { ErrorCode, fail, randomId, toB64, type Opened } from '@p2pay/core'
import { newCoinKey } from '../core/holder.ts'
import type { WithdrawResult } from '../core/ledger-records.ts'
import { TAG, isValue, type WithdrawBody } from '../core/messages.ts'
import { keySigner, type WalletContext } from './wallet-context.ts'

/** The purse key id, made and written at first use. */
export async function purseKey(w: WalletContext): Promise<string> {
  const kept = w.t.purse.get('purse')
  if (kept != null) return kept.key
  return await w.store.apply(() => {
    const again = w.t.purse.get('purse')
    if (again != null) return again.key
    const k = newCoinKey()
    w.t.purse.set('purse', { key: k.id, seed: toB64(k.seed), deposited: 0, withdrawn: 0 })
    return k.id
  })
}

/** What this node deposited and did not withdraw, as it counts it (the broker's figure may add compensations). */
export function purseBalance(w: WalletContext): number {
  const p = w.t.purse.get('purse')
  return p == null ? 0 : p.deposited - p.withdrawn
}

export async function withdraw(w: WalletContext, amountIn?: unknown): Promise<WithdrawResult> {
  const amount = amountIn ?? purseBalance(w)
  if (!isValue(amount)) fail(ErrorCode.BAD_REQUEST, 'amount must be a positive amount (the purse may be empty)')
  const key = await purseKey(w)
  const p = w.t.purse.get('purse')!
  const body: WithdrawBody = { purse: key, account: w.me, amount, nonce: randomId(16) }
  const env: Opened<WithdrawBody> = keySigner(w, p.seed).sign(TAG.withdraw, body, 'whopay-deposit')
  const r = await w.broker.call<WithdrawResult>(
    w.c.broker,
    'withdraw',
    { env: toB64(env.bytes) },
    { kind: 'whopay-deposit', timeoutMs: 15_000 }
  )
  await w.store.apply(() => {
    const now = w.t.purse.get('purse')!
    w.t.purse.set('purse', { ...now, withdrawn: now.withdrawn + r.amount })
  })
  return r
}
