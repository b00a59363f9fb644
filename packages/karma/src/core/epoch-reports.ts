// What a coordinator makes of members' epoch reports, so that one lying
// reporter, or a minority of sybils, cannot move the factor.
//
// Who. A report is taken only from a Karma peer (a bank-set candidate by the
// bank-set rule: bank(A) is the k Karma peers nearest A's key, so every Karma
// peer banks for the accounts near it), signed by the peer that sends it.
//
// How much. A member of k-sets holds k accounts on average whatever the size N
// of the network (N accounts, k members each, N members). Peers are uniform in
// the keyspace, so the largest gap around one of them is about ln N times the
// average and a member can hold up to about k * ln N; `maxActivePerMember`
// allows k * (8 + log2 N). N is estimated from the coordinator's own view: the
// k peers nearest the epoch key lie within a distance d of it, and k of N
// uniform ids fall within d when N is about k * 2^256 / d (`sizeFromClosest`).
// Only active accounts weigh in the estimate, so `active` is what is bounded;
// the accounts of departed peers grow with churn and weigh nothing. A total
// is bounded by accounts * MAX_KARMA (epoch-messages.ts).
//
// Weight. Each account is in k members' books, so summing honest reports gives
// the network's karma per active account exactly (the members that bank a
// departed peer report more per active account; cutting them off would bias
// the estimate). A liar can still claim any figure within the bounds, so
// before summing, `estimateFromReports` winsorizes by rank: with n reports it
// tolerates f = floor((n - 1) / 3) liars, and a report's karma per active
// account is clamped to the f-th lowest and f-th highest of all reports, its
// weight (active accounts) to the f-th highest. Up to f liars then count as at
// most f honest-looking members inside the honest range; with no report beyond
// those ranks nothing is clamped and the sum stays exact.
import { ErrorCode, fail } from '@p2pay/core'
import { kadIdOfKey, kadIdOfPeer, xorDistance } from './bankset.ts'
import type { ReportBody } from './epoch-messages.ts'

/** Fixed-point scale of clamped reports' karma (the estimate's ratio keeps ~10 significant digits). */
const CLAMP_SCALE = 2n ** 32n
/** Most peers a size estimate claims: keeps the bound's log term small whatever a view holds. */
const MAX_SIZE = 2 ** 40

/** The network's size as the k peers nearest `keyBytes` suggest: k of N uniform ids lie within d, N ~ k * 2^256 / d. */
export function sizeFromClosest(keyBytes: Uint8Array, closest: readonly string[]): number {
  if (closest.length === 0) return 1
  const target = kadIdOfKey(keyBytes)
  let far = 0
  for (const p of closest) {
    const d = xorDistance(target, kadIdOfPeer(p))
    // the top 48 bits of the distance, as a fraction of the keyspace
    let x = 0
    for (let i = 0; i < 6; i++) x = x * 256 + d[i]
    far = Math.max(far, (x + 1) / 2 ** 48)
  }
  return Math.max(closest.length, Math.min(MAX_SIZE, Math.round(closest.length / far)))
}

/** Most active accounts one member of k-sets may report in a network of about `size` peers (see the top). */
export function maxActivePerMember(k: number, size: number): number {
  return k * (8 + Math.ceil(Math.log2(Math.max(2, size))))
}

/** Refuses a report claiming more active accounts than a member can bank for (BAD_REQUEST). */
export function checkReportBounds(b: ReportBody, maxActive: number): void {
  if (b.active > maxActive)
    fail(
      ErrorCode.BAD_REQUEST,
      `an epoch report may claim at most ${maxActive} active accounts in a network of this size, not ${b.active}`
    )
}

/** Liars tolerated among n reports: fewer than a third. */
export const tolerated = (n: number): number => Math.max(0, Math.floor((n - 1) / 3))

/** Compares a.total / a.active with b.total / b.active exactly (both active > 0). */
const byRatio = (a: ReportBody, b: ReportBody): number => {
  const d = BigInt(a.total) * BigInt(b.active) - BigInt(b.total) * BigInt(a.active)
  return d < 0n ? -1 : d > 0n ? 1 : 0
}

/**
 * Network estimate from members' signed epoch reports for `epoch`: one report
 * per member (a member that signed two different ones is dropped), reports
 * without active accounts skipped, reports whose karma per active account is
 * more than `spread` times off the median dropped, the rest winsorized as at
 * the top (`tolerate` liars, by default fewer than a third; 0 trusts every
 * report) and summed. Only the ratio totalKarma / activePeers is meaningful
 * (feed both to `rescaleFactor`); the result depends only on the set of
 * reports, not their order, so coordinators with the same reports agree.
 */
export function estimateFromReports(
  reports: Iterable<{ signer: string; body: ReportBody }>,
  epoch: number,
  spread = 4,
  tolerate?: number
): { totalKarma: number; activePeers: number; used: number } {
  if (!(spread === Infinity || (Number.isSafeInteger(spread) && spread >= 1)))
    fail(ErrorCode.BAD_REQUEST, 'spread must be an integer >= 1 or Infinity')
  if (tolerate !== undefined && !(Number.isSafeInteger(tolerate) && tolerate >= 0))
    fail(ErrorCode.BAD_REQUEST, 'tolerate must be a non-negative integer')
  const byMember = new Map<string, ReportBody | null>()
  for (const r of reports) {
    if (r.body.epoch !== epoch || r.signer !== r.body.member) continue
    const prev = byMember.get(r.signer)
    if (prev === undefined) byMember.set(r.signer, r.body)
    else if (
      prev !== null &&
      (prev.total !== r.body.total || prev.active !== r.body.active || prev.accounts !== r.body.accounts)
    )
      byMember.set(r.signer, null)
  }
  const list = [...byMember.values()].filter((r): r is ReportBody => r !== null && r.active > 0)
  // by total/active; ties by member for determinism
  list.sort((a, b) => byRatio(a, b) || (a.member < b.member ? -1 : 1))
  const med = list[Math.floor(list.length / 2)]
  const within = (r: ReportBody): boolean => {
    if (spread === Infinity) return true
    const x = BigInt(r.total) * BigInt(med.active)
    const m = BigInt(med.total) * BigInt(r.active)
    const f = BigInt(spread)
    return x * f >= m && x <= m * f
  }
  const kept = list.filter(within)
  const n = kept.length
  if (n === 0) return { totalKarma: 0, activePeers: 0, used: 0 }
  const f = Math.min(tolerate ?? tolerated(n), Math.floor((n - 1) / 2))
  const lo = kept[f]
  const hi = kept[n - 1 - f]
  const maxWeight = kept.map(r => r.active).sort((a, b) => a - b)[n - 1 - f]
  // reports inside both ranges add exactly; clamped ones add weight * (karma per account of lo or hi) in fixed point
  let exactTotal = 0n
  let weight = 0n
  let clampedTotal = 0n
  let clamped = false
  for (const r of kept) {
    const w = Math.min(r.active, maxWeight)
    const q = byRatio(r, lo) < 0 ? lo : byRatio(r, hi) > 0 ? hi : r
    weight += BigInt(w)
    if (q === r && w === r.active) exactTotal += BigInt(r.total)
    else {
      clamped = true
      clampedTotal += (BigInt(w) * BigInt(q.total) * CLAMP_SCALE) / BigInt(q.active)
    }
  }
  let total = clamped ? exactTotal * CLAMP_SCALE + clampedTotal : exactTotal
  let active = clamped ? weight * CLAMP_SCALE : weight
  // only the ratio matters: halve both until they are safe integers again
  while (total > BigInt(Number.MAX_SAFE_INTEGER) || active > BigInt(Number.MAX_SAFE_INTEGER)) {
    total >>= 1n
    active >>= 1n
  }
  return { totalKarma: Number(total), activePeers: Number(active), used: n }
}
