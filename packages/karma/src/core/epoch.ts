// Epochs: karma enters with every join (initial karma) and leaves with peers
// that go away, so at each epoch boundary balances are rescaled by one factor
// that brings the average per ACTIVE peer back to a target.
//
// Active peers. An account is active in epoch e when its bank recorded
// something the account itself signed for e: a transfer request or a signed
// heartbeat (`p2pay/karma/heartbeat/v1`, {peer, epoch}). Signed, so members
// cannot invent activity for an account, and per epoch, so a heartbeat cannot be
// replayed into the next one. A received credit is not activity: a departed
// peer still gets paid. At the boundary every member signs a report (accounts
// it banks for, how many were active, their total karma). Bank-sets are
// keyspace neighbourhoods, so each member's accounts are a pseudo-random
// sample of all accounts, and total/active of a sample estimates the network's
// average per active peer without anyone summing the whole network (each
// account is counted by k members, which would not change the ratio anyway).
// `estimateFromReports` (epoch-reports.ts) sums the reports of Karma peers
// within bounds, each weighing no more than an honest member, so one liar or
// a minority of sybils cannot move the estimate; `rescaleFactor` further caps
// one epoch's change at `maxStep`.
//
// Agreement. Every member must apply the SAME factor or honest members'
// balances diverge and majority reads fail. This module is deterministic over
// its inputs; the service must make members agree on the inputs (e.g. the
// members of bankSet('karma-epoch|' + e) each compute the factor from the
// reports they collected and sign it, and a member applies the factor that a
// majority of that set signed, via `majorityValue`).
//
// Rounding. Balances are integers. A rescale sets
//   balance * num = newBalance * den + rem     (0 <= rem < den)
// and keeps `rem`, so transfers of the previous epoch that arrive after the
// rescale are applied exactly (`applyAmount`): whether a member rescaled
// before or after applying them, it ends with the same balance and remainder,
// and honest members keep identical numbers. The previous remainder is dropped
// at the next rescale: each rescale destroys less than 1 karma per account and
// never creates any; messages two epochs old are refused (STALE_SEQ).
import { ErrorCode, fail, isUint } from '@p2pay/core'

export { estimateFromReports } from './epoch-reports.ts'

/** Denominator of computed factors: 1 ppm resolution. */
export const FACTOR_DEN = 1_000_000
/** Bound on a factor's numerator and denominator: keeps remainders small safe integers. */
export const MAX_FACTOR_PART = 2 ** 32

export interface Factor {
  num: number
  den: number
}
/** The member's epoch and the factor that led into it (1/1 for epoch 0). */
export interface EpochState {
  epoch: number
  num: number
  den: number
}
export const GENESIS: EpochState = { epoch: 0, num: 1, den: 1 }

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

export function checkFactor(f: Factor): Factor {
  const ok = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_FACTOR_PART
  if (f == null || !ok(f.num) || !ok(f.den))
    fail(ErrorCode.BAD_REQUEST, `factor must be num/den with integers 1..${MAX_FACTOR_PART}`)
  return f
}

/**
 * The factor that takes the average per active peer from totalKarma /
 * activePeers to `targetAveragePerPeer`, rounded to 1 ppm, at most `maxStep`
 * times up or down, reduced. No active peers or no karma: no change (1/1).
 */
export function rescaleFactor(
  totalKarma: number,
  activePeers: number,
  targetAveragePerPeer: number,
  maxStep = 2
): Factor {
  if (!isUint(totalKarma) || !isUint(activePeers) || !isUint(targetAveragePerPeer))
    fail(ErrorCode.BAD_REQUEST, 'totals must be non-negative integers')
  if (!Number.isSafeInteger(maxStep) || maxStep < 1 || maxStep > 1000)
    fail(ErrorCode.BAD_REQUEST, 'maxStep must be 1..1000')
  if (totalKarma === 0 || activePeers === 0 || targetAveragePerPeer === 0) return { num: 1, den: 1 }
  const D = BigInt(FACTOR_DEN)
  const total = BigInt(totalKarma)
  let num = (BigInt(targetAveragePerPeer) * BigInt(activePeers) * D * 2n + total) / (total * 2n)
  const lo = D / BigInt(maxStep)
  const hi = D * BigInt(maxStep)
  if (num < lo) num = lo
  if (num > hi) num = hi
  const g = gcd(num, D)
  return { num: Number(num / g), den: Number(D / g) }
}

/** floor(balance * num / den) and the remainder, for a rescale (the previous remainder is dropped). */
export function rescaleBalance(balance: number, f: Factor): { balance: number; rem: number } {
  const t = BigInt(balance) * BigInt(f.num)
  const den = BigInt(f.den)
  return { balance: Number(t / den), rem: Number(t % den) }
}

/**
 * An account's value after adding `delta` (negative for a debit) expressed in
 * the units of `msgEpoch`, for a member in epoch `e`. Undefined when the
 * result would be negative. Throws STALE_SEQ for any epoch but e and e-1.
 */
export function applyAmount(
  acct: { balance: number; rem: number },
  delta: number,
  msgEpoch: number,
  e: EpochState
): { balance: number; rem: number } | undefined {
  if (msgEpoch === e.epoch) {
    const balance = acct.balance + delta
    return balance < 0 ? undefined : { balance, rem: acct.rem }
  }
  if (msgEpoch === e.epoch - 1) {
    const den = BigInt(e.den)
    const t = BigInt(acct.balance) * den + BigInt(acct.rem) + BigInt(delta) * BigInt(e.num)
    return t < 0n ? undefined : { balance: Number(t / den), rem: Number(t % den) }
  }
  checkMessageEpoch(msgEpoch, e)
  throw new Error('unreachable')
}

/** Messages of the member's epoch and the one before are applied; later ones wait (retry), older ones are refused. */
export function checkMessageEpoch(msgEpoch: number, e: EpochState): void {
  if (msgEpoch === e.epoch || msgEpoch === e.epoch - 1) return
  if (msgEpoch > e.epoch)
    fail(ErrorCode.STALE_SEQ, `message is for epoch ${msgEpoch}, this member is still in epoch ${e.epoch}`, {
      epoch: e.epoch
    })
  fail(ErrorCode.STALE_SEQ, `message is for epoch ${msgEpoch}, too old for epoch ${e.epoch}`, { epoch: e.epoch })
}
