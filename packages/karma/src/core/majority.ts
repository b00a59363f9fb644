// Majority decisions over a bank-set: a value counts when a strict majority of
// the set's distinct members signed it. With at most floor((k-1)/2) faulty
// members, that value is an honest member's.
import { canonicalJson } from '@p2pay/core'

/** Strict majority of a set of k: floor(k/2) + 1. */
export function majority(k: number): number {
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError('k must be a positive integer')
  return Math.floor(k / 2) + 1
}

export interface Verdict<V> {
  value: V
  /** members that reported `value`, sorted */
  voters: string[]
}

/**
 * The value a strict majority of `members` reported, or undefined.
 *
 * `answers` must be verified signed objects (signer established by the
 * envelope). Answers from non-members are ignored; a member that reported two
 * different values has no vote at all (taking its first would make the result
 * depend on arrival order). Values are compared by their canonical JSON, so
 * `valueOf` picks the fields that must agree (e.g. balance and nonce, not the
 * reader's challenge). The threshold is majority(k), k = the set's size unless
 * given: pass the configured k so a short set is not easier to outvote.
 */
export function majorityValue<T, V>(
  answers: Iterable<{ signer: string; body: T }>,
  members: readonly string[],
  valueOf: (body: T) => V,
  k: number = new Set(members).size
): Verdict<V> | undefined {
  const set = new Set(members)
  const byMember = new Map<string, { key: string; value: V } | null>()
  for (const a of answers) {
    if (!set.has(a.signer)) continue
    const value = valueOf(a.body)
    const key = canonicalJson(value)
    const prev = byMember.get(a.signer)
    if (prev === undefined) byMember.set(a.signer, { key, value })
    else if (prev !== null && prev.key !== key) byMember.set(a.signer, null)
  }
  const tally = new Map<string, { value: V; voters: string[] }>()
  for (const [member, v] of byMember) {
    if (v === null) continue
    const t = tally.get(v.key) ?? { value: v.value, voters: [] }
    t.voters.push(member)
    tally.set(v.key, t)
  }
  const need = majority(k)
  for (const t of tally.values()) if (t.voters.length >= need) return { value: t.value, voters: t.voters.sort() }
  return undefined
}
