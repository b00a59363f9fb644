// The limits the AggSign figures are read against, measured in the same run:
// raw Ed25519 verifications per second (as the PPay benchmark measures them,
// here per second of CPU time),
// and BLS verifications and 8-message aggregate verifications per second
// through the scheme's bls.ts (keys decoded once and cached, as a checker
// does; every signature decoded and subgroup-checked, as received ones are).
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { nodeEd25519 } from '@p2pay/core'
import { aggregate, aggregateVerify, generateKey, sign, verify } from '@p2pay/aggsign'

export interface Limits {
  ed25519VerifyPerSecond: number
  blsVerifyPerSecond: number
  /** what a payee checks for a coin with one layer (mint + layer) */
  blsAggregateVerify2PerSecond: number
  /** with two layers */
  blsAggregateVerify3PerSecond: number
  blsAggregateVerify8PerSecond: number
  blsSignPerSecond: number
}

/**
 * Calls per second of CPU time (user + system) of `f`, run `n` times after a
 * few warm-up calls: CPU time, like the broker figures read against these, so
 * other processes on a shared machine do not lower the rate.
 */
function rate(n: number, f: () => unknown): number {
  for (let i = 0; i < Math.min(10, n); i++) f()
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) f()
  const t = process.cpuUsage(t0)
  return Math.round(n / ((t.user + t.system) / 1e6))
}

export function measureLimits(quick: boolean): Limits {
  const ed = nodeEd25519()
  const seed = randomBytes(32)
  const msg = randomBytes(300)
  const edSig = ed.sign(seed, msg)
  const edKey = ed25519.getPublicKey(seed)
  const keys = Array.from({ length: 8 }, generateKey)
  const msgs = keys.map(() => randomBytes(200))
  const sigs = keys.map((k, i) => sign(k.secretKey, msgs[i]))
  const agg = aggregate(sigs)
  const pks = keys.map(k => k.publicKey)
  const first = (n: number): (() => boolean) => {
    const sig = aggregate(sigs.slice(0, n))
    return () => aggregateVerify(msgs.slice(0, n), pks.slice(0, n), sig)
  }
  const scale = quick ? 0.25 : 1
  return {
    ed25519VerifyPerSecond: rate(5000 * scale, () => ed.verify(edKey, msg, edSig)),
    blsVerifyPerSecond: rate(300 * scale, () => verify(pks[0], msgs[0], sigs[0])),
    blsAggregateVerify2PerSecond: rate(200 * scale, first(2)),
    blsAggregateVerify3PerSecond: rate(200 * scale, first(3)),
    blsAggregateVerify8PerSecond: rate(100 * scale, () => aggregateVerify(msgs, pks, agg)),
    blsSignPerSecond: rate(300 * scale, () => sign(keys[0].secretKey, msgs[0]))
  }
}
