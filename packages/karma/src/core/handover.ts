// Hand-overs, the pure part: a member's signed state of an account for a
// new member (exportStates), taking over what a strict majority of the old
// bank signed (adoptState), who that old bank is (oldBankOf), which answers
// count as whose vote (pagesSignedBy), and when a join may still mint at a
// member that could not adopt a state (oldBankSaysNew). Member's methods of
// the same names call these.
import { ErrorCode, P2payError, canonicalJson, checkPeerId, fail, type Verifier } from '@p2pay/core'
import type { KarmaKind } from '../kinds.ts'
import { bankSet } from './bankset.ts'
import { applyAmount } from './epoch.ts'
import { majorityValue } from './majority.ts'
import type { Member } from './member.ts'
import type { AccountRow, CreditRow } from './member-records.ts'
import { MAX_EXPORTED_CREDITS, MAX_KARMA, MAX_STATE_PAGES, type Signed } from './messages.ts'
import { makeState, openState, type StateBody } from './state-messages.ts'

/**
 * The old bank of `account` that votes on its state when `me` takes it over or
 * resynchronises it: the k peers nearest the account's key among `near` (the
 * DHT query's answer), `me` and the account excluded. Whether they answer does
 * not matter: a peer that does not answer simply has no vote.
 */
export function oldBankOf(account: string, near: readonly string[], me: string, k: number): string[] {
  return bankSet(
    account,
    near.filter(p => p !== me && p !== account),
    k
  )
}

/** A state as a join leaves it, before anything else happened to the account: minting again would give the same row. */
export function isJustOpened(s: StateBody, initialKarma: number, epoch: number): boolean {
  return (
    s.joined &&
    s.nonce === 0 &&
    s.lastRequest === null &&
    s.balance === initialKarma &&
    s.rem === 0 &&
    s.credited.length === 0 &&
    s.epoch === epoch
  )
}

/** The pages of a state answer that verify, are addressed to `me` and are signed by `asked`, the peer asked. */
export function pagesSignedBy(
  verifier: Verifier<KarmaKind>,
  asked: string,
  account: string,
  me: string,
  pages: readonly unknown[]
): string[] {
  return pages.filter((p): p is string => {
    try {
      return openState(verifier, p, { account, to: me }).signer === asked
    } catch {
      return false
    }
  })
}

/**
 * When the old bank of a joining `account` agreed on no state, whether the
 * join may still mint here: a strict majority of it answered that it has no
 * such account (`absent`), or holds it exactly as a join just opened it (a
 * bank answering a join that reached its members at the same moment).
 * `answers` are the pages each old member signed (pagesSignedBy).
 */
export function oldBankSaysNew(
  verifier: Verifier<KarmaKind>,
  answers: ReadonlyArray<readonly string[]>,
  absent: number,
  q: { account: string; me: string; initialKarma: number; epoch: number; needed: number }
): { absent: number; justOpened: number; needed: number; isNew: boolean } {
  const justOpened = answers.filter(
    pages =>
      pages.length === 1 &&
      isJustOpened(openState(verifier, pages[0], { account: q.account, to: q.me }).body, q.initialKarma, q.epoch)
  ).length
  return { absent, justOpened, needed: q.needed, isNew: absent + justOpened >= q.needed }
}

/**
 * This member's state of `account`, signed for the new member `to`, as one
 * or more signed pages that differ only in their slice of the credited
 * request hashes: every hash this member holds for the account whose notice
 * could still be accepted (the rule prune applies, so a member that has not
 * pruned yet lists what one that has lists). The list is part of the value a
 * majority must agree on (stateValue), so it is the same at every honest
 * member with the same balance: sorted, and past MAX_STATE_PAGES x
 * MAX_EXPORTED_CREDITS hashes cut in an order that depends on the hashes and
 * their request epochs only (the latest epochs first, then by hash).
 */
export function exportStates(m: Member, account: string, to: string): string[] {
  checkPeerId(account, 'account')
  checkPeerId(to, 'to')
  const row = m.t.accounts.get(account)
  if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
  // not NOT_FOUND: that would count as the old bank saying the account is new (a join could mint)
  if (!m.serves(account))
    fail(ErrorCode.STALE_SEQ, `${account} is not synced in this member's books: no state to hand over`, {
      account,
      sync: true
    })
  const e = m.epoch().epoch
  const all = [...m.t.credits.entries()]
    .filter(([, c]) => c.to === account && c.status === 'credited' && (c.epoch ?? e) >= e - 1)
    .map(([h, c]) => ({ h, epoch: c.epoch ?? e }))
    .sort((a, b) => b.epoch - a.epoch || (a.h < b.h ? -1 : 1))
    .slice(0, MAX_CREDITED)
    .map(x => x.h)
    .sort()
  const pages: string[] = []
  for (let i = 0; i === 0 || i < all.length; i += MAX_EXPORTED_CREDITS) {
    const credited = all.slice(i, i + MAX_EXPORTED_CREDITS)
    pages.push(
      makeState(m.signer, {
        account,
        to,
        epoch: e,
        balance: row.balance,
        rem: row.rem,
        nonce: row.nonce,
        lastRequest: row.lastRequest,
        joined: row.joined,
        credited,
        activeEpoch: row.activeEpoch
      }).b64
    )
  }
  return pages
}

/** Credited hashes a state export carries at most, over all its pages. */
const MAX_CREDITED = MAX_STATE_PAGES * MAX_EXPORTED_CREDITS

/** An old member's state as all its pages together: `credited` is the union of theirs, sorted. */
export type WholeState = Omit<StateBody, 'credited' | 'activeEpoch'> & { credited: string[] }

/**
 * Fields of a state export that a majority must agree on: the balance and
 * the credited hashes together (all pages of the member's answer, see
 * wholeStates). A transfer counted in the balance adopted is then in the
 * list adopted, and is never applied again on top (two liars signing the
 * true balance without its hash are no longer on the honest member's side).
 */
export function stateValue(
  s: Pick<StateBody, 'epoch' | 'balance' | 'rem' | 'nonce' | 'lastRequest' | 'joined' | 'credited'>
): Pick<StateBody, 'epoch' | 'balance' | 'rem' | 'nonce' | 'lastRequest' | 'joined' | 'credited'> {
  return {
    epoch: s.epoch,
    balance: s.balance,
    rem: s.rem,
    nonce: s.nonce,
    lastRequest: s.lastRequest,
    joined: s.joined,
    credited: s.credited
  }
}

/**
 * Each old member's pages joined into one state per signer: pages that agree
 * on everything but their slice of hashes are one answer (their lists
 * merged); a member whose pages disagree otherwise gives two states, and
 * majorityValue then counts no vote of it.
 */
function wholeStates(opened: ReadonlyArray<Signed<StateBody>>): Array<{ signer: string; body: WholeState }> {
  const bySigner = new Map<string, Map<string, { body: WholeState; hashes: Set<string> }>>()
  for (const o of opened) {
    const { credited, activeEpoch: _activeEpoch, ...rest } = o.body
    const key = canonicalJson(stateValue({ ...rest, credited: [] }))
    const mine = bySigner.get(o.signer) ?? new Map<string, { body: WholeState; hashes: Set<string> }>()
    bySigner.set(o.signer, mine)
    const w = mine.get(key) ?? { body: { ...rest, credited: [] }, hashes: new Set<string>() }
    mine.set(key, w)
    for (const h of credited) w.hashes.add(h)
  }
  return [...bySigner].flatMap(([signer, mine]) =>
    [...mine.values()].map(w => ({ signer, body: { ...w.body, credited: [...w.hashes].sort() } }))
  )
}

/**
 * Takes over `account` from the members of its old bank (as this member
 * computes it): the state a strict majority of them signed, balance and
 * credited hashes together (stateValue), or a refusal. The hashes adopted are
 * the ones that majority listed, so a late notice for a transfer the balance
 * holds is not credited again here. Answers that do not
 * verify, or are for another account or member, are skipped (an old member
 * may be the liar). Also serves a member that fell behind to resynchronise.
 */
export function adoptState(
  m: Member,
  account: string,
  answers: readonly unknown[],
  oldMembers: readonly string[],
  bankNow: readonly string[]
): { account: string; balance: number; nonce: number; voters: string[]; credited: number } {
  checkPeerId(account, 'account')
  const old = m.checkSet(oldMembers, account, 'the old bank')
  m.requireMember(bankNow, account, 'bank(account)')
  const maxAnswers = 4 * m.cfg.k * MAX_STATE_PAGES
  if (!Array.isArray(answers) || answers.length > maxAnswers)
    fail(ErrorCode.BAD_REQUEST, `answers must be a list of at most ${maxAnswers}`)
  const opened: Array<Signed<StateBody>> = []
  for (const a of answers) {
    try {
      opened.push(openState(m.verifier, a, { account, to: m.id }))
    } catch (err) {
      if (!(err instanceof P2payError)) throw err
    }
  }
  const verdict = majorityValue(wholeStates(opened), old, stateValue, m.cfg.k)
  if (verdict === undefined)
    fail(
      ErrorCode.NOT_FOUND,
      `no strict majority (${m.needed} of ${m.cfg.k}) of the old bank agrees on the state of ${account}`,
      { reason: 'no-majority', answers: opened.length, needed: m.needed }
    )
  const s = verdict.value
  const e = m.epoch()
  if (s.epoch !== e.epoch)
    fail(ErrorCode.STALE_SEQ, `the old bank reports epoch ${s.epoch}, this member is in epoch ${e.epoch}`, {
      epoch: e.epoch
    })
  // the credited hashes are the ones the majority agreed on with the balance: each is in the balance adopted
  const credited = s.credited
  const listed = new Set(credited)
  // activity: the highest epoch at least a majority of the old bank vouch for (a minority cannot raise it)
  const byVoter = new Map<string, number>()
  for (const o of opened)
    if (verdict.voters.includes(o.signer))
      byVoter.set(o.signer, Math.min(byVoter.get(o.signer) ?? Infinity, o.body.activeEpoch))
  const vouched = [...byVoter.values()].sort((a, b) => b - a)[m.needed - 1] ?? -1
  const prev = m.t.accounts.get(account)
  // a synced row never goes back to fewer debits: the old bank's answers may predate a debit applied here since
  // (a debit the majority refused stays until the payer's retries settle it or another request with its nonce
  // arrives)
  if (prev != null && prev.synced !== false && s.nonce < prev.nonce)
    fail(
      ErrorCode.STALE_SEQ,
      `the old bank reports nonce ${s.nonce} of ${account}, this member applied ${prev.nonce}`,
      { nonce: prev.nonce }
    )
  const now = m.cfg.now()
  let next: AccountRow = {
    balance: s.balance,
    rem: s.rem,
    nonce: s.nonce,
    lastRequest: s.lastRequest,
    joined: s.joined,
    joinedAt: prev?.joinedAt ?? (s.joined ? now : null),
    activeEpoch: Math.max(prev?.activeEpoch ?? -1, Math.min(vouched, e.epoch)),
    synced: true,
    // the row's own history still tells how it came about when the old bank holds just what it held (a resync that
    // changed nothing); otherwise the state carries none
    ...(prev?.history !== undefined && sameRow(prev, s) ? { history: prev.history } : {})
  }
  // the list is all the majority holds (below the export's cap): a credit it does not list is then not in the balance
  // adopted. At the cap one left out may be in it: neither applied again nor forgotten (never counted twice here)
  const complete = credited.length < MAX_CREDITED
  const forget: Array<[string, CreditRow]> = []
  for (const [h, c] of m.t.credits.entries()) {
    if (c.to !== account || c.status !== 'credited' || listed.has(h)) continue
    if (c.epoch !== undefined && c.epoch < e.epoch - 1) continue // its notices are refused everywhere by now
    if (!complete) continue
    if (c.adopted !== true && c.amount !== undefined && c.epoch !== undefined && c.voters.length >= m.needed) {
      // credited here on a majority of bank(A) and not held by the old bank yet (its notices are still on the way
      // there): applied again on top, so it is not lost here
      const after = applyAmount(next, c.amount, c.epoch, e)
      if (after !== undefined && after.balance <= MAX_KARMA) next = { ...next, ...after }
    } else {
      // known here only as adopted from an earlier majority, or reduced to its hash: the balance adopted now does not
      // hold it, so it must be able to count again when its notices come (kept as credited, it would be refused as a
      // duplicate, and this member would stay short of the bank for good)
      forget.push([h, c])
    }
  }
  m.t.accounts.set(account, next)
  for (const [h, c] of forget) {
    if (c.from === undefined || c.amount === undefined) m.t.credits.delete(h)
    else {
      const { adopted: _adopted, receipt: _receipt, unsynced: _unsynced, ...votes } = c
      m.t.credits.set(h, { ...votes, status: 'counting' })
    }
  }
  for (const h of credited) {
    const c = m.t.credits.get(h)
    if (c?.status !== 'credited')
      m.t.credits.set(h, {
        ...c,
        to: account,
        status: 'credited',
        voters: c?.voters ?? [],
        at: now,
        epoch: Math.max(c?.epoch ?? 0, e.epoch),
        adopted: true
      })
  }
  return { account, balance: next.balance, nonce: s.nonce, voters: verdict.voters, credited: credited.length }
}

function sameRow(a: AccountRow, b: Pick<AccountRow, 'balance' | 'rem' | 'nonce' | 'lastRequest' | 'joined'>): boolean {
  return (
    a.balance === b.balance &&
    a.rem === b.rem &&
    a.nonce === b.nonce &&
    a.lastRequest === b.lastRequest &&
    a.joined === b.joined
  )
}
