// The outbox of bank(A)'s notices, on the housekeeping tick. A debit's
// notices first go out one-way; past a grace period, each member of bank(B)
// that has not taken one is asked which requests it credited (one call for
// all of them), and the rest get the notice again, with answers, until every
// member bank(B) had at any tick since (as this node computed it) took it, or
// its request is too old for any member to accept (epochs), or a majority
// took it long ago: a crash, a restart or an unreachable member delays a
// credit, it does not lose it. Then the records past their horizon are forgotten.
import { ErrorCode, finalCodes, hasCode, type Lru } from '@p2pay/core'
import { RECORD_HORIZON_MS } from '../core/config.ts'
import { outboxRowDone, targetsOf } from '../core/outbox.ts'
import type { OutboxRow } from '../core/member-records.ts'
import { openTransfer } from '../core/messages.ts'
import { openCreditFrom } from '../core/account.ts'
import { KIND } from '../kinds.ts'
import { forgetCaught } from './caught.ts'
import type { KarmaContext } from './context.ts'
import { MAX_CREDITS_ASKED } from './account.ts'
import { MAX_ASKED } from './credit.ts'

/**
 * the tick asks bank(B) what it credited and resends the rest only after this many sync intervals (10 s by default):
 * long enough for the one-way notices to arrive, and for one question per member to cover many transfers' notices
 */
export const NOTICE_GRACE_SYNCS = 2
/**
 * Refusals after which a notice is not sent to that member again. Not
 * WRONG_BROKER: a member whose view of the DHT is behind refuses now and
 * takes the notice once it sees itself in bank(B) (resends stop at
 * OUTBOX_HORIZON_MS, or when the tick's bank(B) no longer lists it).
 */
const FINAL_FOR_TARGET = finalCodes()
/** a payer asked for its credit receipts answers within this, or its rows go to bank(B)'s members as before */
const ASK_PAYER_MS = 3000

/** Resends outstanding notices and drops the rows every member is done with, or that no member can accept any more. */
export async function tickOutbox(ctx: KarmaContext, now: number, askedPayers: Lru<string, true>): Promise<void> {
  const { t, member, store, view } = ctx
  const grace = NOTICE_GRACE_SYNCS * ctx.cfg.syncMs
  const due = (): OutboxRow[] => [...t.outbox.values()].filter(row => row.at <= now - grace)
  await askPayers(ctx, due(), askedPayers)
  await markCredited(ctx, due())
  for (const row of [...t.outbox.values()]) {
    let requestEpoch = 0
    try {
      requestEpoch = openTransfer(ctx.verifier, row.request).body.epoch
    } catch {}
    if (outboxRowDone(row, { requestEpoch, epoch: member.epoch().epoch, needed: member.needed, now })) {
      await store.apply(() => t.outbox.delete(row.requestHash))
      continue
    }
    if (row.at > now - grace) continue // its one-way notices may still be on their way
    try {
      const bankB = await view.bank(row.to)
      await sendNotices(ctx, row.requestHash, bankB, targetsOf(row, bankB), row.notice)
    } catch {}
  }
}

/** Forgets debit records, vote counts and evidence past RECORD_HORIZON_MS (credits only as member.prune allows). */
export async function forgetOld(ctx: KarmaContext, now: number): Promise<void> {
  await ctx.store.apply(() => {
    ctx.member.prune(now - RECORD_HORIZON_MS)
    forgetCaught(ctx.t, now - RECORD_HORIZON_MS)
  })
}

/**
 * Sends a debit's notice, with answers, to the members of bank(B) (now and before: `all`) that have not taken it.
 * A member that was in bank(B) before but is not now, and says so itself (WRONG_BROKER), is out of it by both
 * views: it needs the notice no more (were it to enter again, it would take the account over from the bank).
 */
async function sendNotices(
  ctx: KarmaContext,
  requestHash: string,
  bankB: readonly string[],
  all: readonly string[],
  notice: string
): Promise<void> {
  const { t, store, peers } = ctx
  const row = t.outbox.get(requestHash)
  const targets = all.filter(m => row == null || !row.delivered.includes(m))
  const done: string[] = []
  await Promise.all(
    targets.map(async m => {
      try {
        const out = await peers.call<{ status?: string; reason?: string }>(m, 'notice', { notice }, KIND.transfer)
        // a member that does not count this node in bank(A) yet (its view is behind) is asked again later
        if (!(out?.status === 'ignored' && out.reason === 'non-member')) done.push(m)
      } catch (err) {
        if (hasCode(err, ...FINAL_FOR_TARGET)) done.push(m)
        else if (hasCode(err, ErrorCode.WRONG_BROKER) && !bankB.includes(m)) done.push(m)
      }
    })
  )
  const cur = t.outbox.get(requestHash)
  if (cur == null) return
  const targetsNow = [...all].sort()
  const known = JSON.stringify(cur.targets ?? []) === JSON.stringify(targetsNow)
  if (done.length === 0 && targets.length > 0 && known) return
  const delivered = [...new Set([...cur.delivered, ...done])].sort()
  const complete = all.every(m => delivered.includes(m))
  await store.apply(() => {
    if (complete) t.outbox.delete(requestHash)
    else t.outbox.set(requestHash, { ...cur, delivered, targets: targetsNow })
  })
}

/**
 * The outbox rows past the grace period: each payer is asked, in one call for
 * all of its requests, for the credit receipts bank(B) pushed it. A receipt
 * whose signature checks, signed by a member the row still owes, for the
 * row's request and payee, says that member credited it, as its own answer to
 * `credited` would. Only when asking bank(B) would take more calls than there
 * are rows (transfers seldom share members, as in a large swarm, where those
 * questions were 2k^2 messages a transfer): where many rows share a few
 * members, the questions to bank(B) cost less than checking k receipts a row.
 * A payer that does not answer, or withholds, leaves its rows to markCredited;
 * each row is asked about once (`asked`), so a payer that left costs one call.
 */
async function askPayers(ctx: KarmaContext, rows: readonly OutboxRow[], asked: Lru<string, true>): Promise<void> {
  const { peers, verifier } = ctx
  const byPayer = new Map<string, OutboxRow[]>()
  const owed = new Map<string, string[]>()
  for (const { row, all } of await withTargets(ctx, rows)) {
    if (all.every(m => row.delivered.includes(m)) || asked.peek(row.requestHash) === true) continue
    owed.set(row.requestHash, all)
    const list = byPayer.get(row.from) ?? []
    if (list.length < MAX_CREDITS_ASKED) byPayer.set(row.from, [...list, row])
  }
  const members = new Set(
    [...byPayer.values()].flat().flatMap(r => owed.get(r.requestHash)!.filter(m => !r.delivered.includes(m)))
  )
  if (members.size <= owed.size) return
  const by = new Map<string, string[]>()
  await Promise.all(
    [...byPayer].map(async ([payer, list]) => {
      let receipts: unknown
      for (const r of list) asked.set(r.requestHash, true)
      try {
        const hashes = list.map(r => r.requestHash)
        const r = await peers.call<{ receipts?: unknown }>(payer, 'creditsOf', { hashes }, KIND.transfer, ASK_PAYER_MS)
        receipts = r?.receipts
      } catch {
        return
      }
      if (receipts == null || typeof receipts !== 'object') return
      for (const row of list) {
        const got = (receipts as Record<string, unknown>)[row.requestHash]
        if (!Array.isArray(got)) continue
        const all = owed.get(row.requestHash)!
        const took: string[] = []
        for (const b64 of got.slice(0, all.length)) {
          const members = all.filter(m => !row.delivered.includes(m) && !took.includes(m))
          const s = openCreditFrom(verifier, b64, { account: row.to, requestHash: row.requestHash, members })
          if (s !== undefined) took.push(s.signer)
        }
        if (took.length > 0) by.set(row.requestHash, took)
      }
    })
  )
  await recordTaken(ctx, by, owed)
}

/**
 * The outbox rows past the grace period: each member of bank(B) that has
 * not taken one is asked, in one call for all of them, which it credited;
 * a credited request needs no notice there (a majority's notices did it).
 * One batch records the answers and drops the rows every member is done with.
 */
async function markCredited(ctx: KarmaContext, rows: readonly OutboxRow[]): Promise<void> {
  const { peers } = ctx
  const byMember = new Map<string, string[]>()
  const banks = new Map<string, string[]>()
  for (const { row, all } of await withTargets(ctx, rows)) {
    banks.set(row.requestHash, all)
    for (const m of all) {
      if (row.delivered.includes(m)) continue
      const list = byMember.get(m)
      if (list == null) byMember.set(m, [row.requestHash])
      else if (list.length < MAX_ASKED) list.push(row.requestHash)
    }
  }
  const by = new Map<string, string[]>()
  await Promise.all(
    [...byMember].map(async ([m, hashes]) => {
      const asked = new Set(hashes)
      try {
        const r = await peers.call<{ credited?: unknown }>(m, 'credited', { hashes }, KIND.transfer)
        if (Array.isArray(r?.credited))
          for (const h of r.credited) if (asked.has(h)) by.set(h, [...(by.get(h) ?? []), m])
      } catch {}
    })
  )
  await recordTaken(ctx, by, banks)
}

/** Each row with the members of bank(B) it is owed to (now and before), for the rows whose bank(B) is known now. */
async function withTargets(
  ctx: KarmaContext,
  rows: readonly OutboxRow[]
): Promise<Array<{ row: OutboxRow; all: string[] }>> {
  const out: Array<{ row: OutboxRow; all: string[] }> = []
  for (const row of rows) {
    let bankB: string[]
    try {
      bankB = await ctx.view.bank(row.to)
    } catch {
      continue
    }
    out.push({ row, all: targetsOf(row, bankB) })
  }
  return out
}

/** Records, in one batch, the members that took each request; drops the rows every member (`all`) is done with. */
async function recordTaken(
  ctx: KarmaContext,
  by: ReadonlyMap<string, string[]>,
  all: ReadonlyMap<string, string[]>
): Promise<void> {
  const { t, store } = ctx
  if (by.size === 0) return
  await store.apply(() => {
    for (const [h, members] of by) {
      const cur = t.outbox.get(h)
      if (cur == null) continue
      const delivered = [...new Set([...cur.delivered, ...members])].sort()
      const targets = all.get(h)!
      if (targets.every(m => delivered.includes(m))) t.outbox.delete(h)
      else t.outbox.set(h, { ...cur, delivered, targets })
    }
  })
}
