// What the members of one bank compare and replay to agree again after some of
// them missed messages (a restart, a view of the bank that left one out): the
// digest of each row, the payer's signed requests a member applied past a
// nonce, and the credits it made. Nothing here is taken on trust: a request is
// applied through the usual debit, a credit through the notices of bank(A).
import type { MemberTables } from './member-records.ts'

/** accounts per digest question, requests per replay, credits per answer */
export const MAX_SYNC_ACCOUNTS = 256
export const MAX_REPLAY = 64
export const MAX_CREDITS_LISTED = 256

export interface RowDigest {
  balance: number
  nonce: number
}

/** balance and nonce of each synced row among `accounts` (absent: no synced row here). */
export function digestOf(t: MemberTables, accounts: readonly string[]): Record<string, RowDigest> {
  const out: Record<string, RowDigest> = {}
  for (const a of accounts) {
    const row = t.accounts.get(a)
    if (row != null && row.synced !== false) out[a] = { balance: row.balance, nonce: row.nonce }
  }
  return out
}

/**
 * The signed requests of `account` this member applied after nonce `after` and before `before`, in nonce order and
 * without a gap (a younger one may still be refused by the rest of the bank while the payer retries it).
 */
export function requestsAfter(
  t: MemberTables,
  account: string,
  after: number,
  before: number,
  max = MAX_REPLAY
): string[] {
  const byNonce = new Map<number, string>()
  for (const d of t.pending.values())
    if (d.from === account && d.nonce > after && d.at < before) byNonce.set(d.nonce, d.request)
  const out: string[] = []
  for (let n = after + 1; byNonce.has(n) && out.length < max; n++) out.push(byNonce.get(n)!)
  return out
}

/**
 * The latest requests credited to `account` here before `before`, newest first, with their payer (credits adopted in
 * churn have none): what a member missed is recent, and a busy account has more credits than one answer holds.
 */
export function creditsTo(
  t: MemberTables,
  account: string,
  before: number,
  max = MAX_CREDITS_LISTED
): Array<{ requestHash: string; from: string }> {
  const found: Array<{ requestHash: string; from: string; at: number }> = []
  for (const [requestHash, c] of t.credits.entries())
    if (c.to === account && c.status === 'credited' && c.from != null && c.at < before)
      found.push({ requestHash, from: c.from, at: c.at })
  return found
    .sort((a, b) => b.at - a.at)
    .slice(0, max)
    .map(({ requestHash, from }) => ({ requestHash, from }))
}
