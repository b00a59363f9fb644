// The WhoPay benchmark's crypto figures, measured in the same run as its network
// part: BBS04 sign, verify and open through the synchronous module (CPU time per
// call on this thread) and through the worker pool a daemon uses (wall time per
// call with the pool kept busy, and what that makes per second), next to the
// Ed25519 verify rate that bounds PPay's figures.
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { nodeEd25519 } from '@p2pay/core'
import {
  encodeGroupPublicKey,
  encodeMemberKey,
  encodeOpenerKey,
  encodeSignature,
  issue,
  open,
  setup,
  sign,
  verify
} from '../../packages/whopay/src/core/bbs04.ts'
import { DEFAULT_POOL_SIZE, groupPool } from '../../packages/whopay/src/core/group-pool.ts'

export interface OpTimes {
  /** milliseconds per call */
  signMs: number
  verifyMs: number
  openMs: number
}

export interface CryptoFigures {
  /** the synchronous module, CPU time (user + system) per call on one thread */
  sync: OpTimes
  /** the worker pool: wall time per call while `pool.concurrency` calls are kept in flight */
  pool: OpTimes & { workers: number; concurrency: number; signPerSecond: number; verifyPerSecond: number }
  /** raw Ed25519 verifications per second of CPU time on one core (node:crypto), PPay's bound */
  ed25519VerifyPerSecond: number
  /** bytes of a BBS04 signature as sent */
  signatureBytes: number
  calls: number
}

const r2 = (x: number): number => Math.round(x * 100) / 100

/** CPU milliseconds per call of `f`, run `n` times after a few warm-up calls. */
function cpuMs(n: number, f: () => unknown): number {
  for (let i = 0; i < Math.min(3, n); i++) f()
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) f()
  const t = process.cpuUsage(t0)
  return r2((t.user + t.system) / 1000 / n)
}

/** Wall milliseconds per call of `f` with `concurrency` calls in flight, `n` calls in all. */
async function wallMs(n: number, concurrency: number, f: () => Promise<unknown>): Promise<number> {
  await Promise.all(Array.from({ length: concurrency }, async () => await f()))
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await f()
    })
  )
  return r2((performance.now() - t0) / n)
}

export async function measureCrypto(calls: number): Promise<CryptoFigures> {
  const { gpk, issuerKey, openerKey } = setup()
  const member = issue(gpk, issuerKey)
  // plain Uint8Arrays: the pool hands copies to its workers, and a Buffer's slice is a view
  const msg = new Uint8Array(randomBytes(300))
  const sig = sign(gpk, member, msg)
  const sigBytes = new Uint8Array(encodeSignature(sig))
  const sync: OpTimes = {
    signMs: cpuMs(calls, () => sign(gpk, member, msg)),
    verifyMs: cpuMs(calls, () => verify(gpk, msg, sigBytes)),
    openMs: cpuMs(calls * 4, () => open(gpk, openerKey, sigBytes))
  }
  if (!verify(gpk, msg, sigBytes)) throw new Error('BBS04 signature made here does not verify')

  const pool = groupPool(DEFAULT_POOL_SIZE)
  const [g, m, o] = [encodeGroupPublicKey(gpk), encodeMemberKey(member), encodeOpenerKey(openerKey)].map(
    b => new Uint8Array(b)
  )
  const concurrency = DEFAULT_POOL_SIZE * 4
  try {
    const signMs = await wallMs(calls, concurrency, async () => await pool.sign(g, m, msg))
    const verifyMs = await wallMs(calls, concurrency, async () => await pool.verify(g, msg, sigBytes))
    const openMs = await wallMs(calls * 4, concurrency, async () => await pool.open(g, o, sigBytes))
    const ed = nodeEd25519()
    const seed = randomBytes(32)
    const edSig = ed.sign(seed, msg)
    const edKey = ed25519.getPublicKey(seed)
    return {
      sync,
      pool: {
        workers: DEFAULT_POOL_SIZE,
        concurrency,
        signMs,
        verifyMs,
        openMs,
        signPerSecond: Math.round(1000 / signMs),
        verifyPerSecond: Math.round(1000 / verifyMs)
      },
      ed25519VerifyPerSecond: Math.round(1000 / cpuMs(calls * 100, () => ed.verify(edKey, msg, edSig))),
      signatureBytes: sigBytes.byteLength,
      calls
    }
  } finally {
    await pool.close()
  }
}
