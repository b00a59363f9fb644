// The outbox of bank(A)'s notices, on the housekeeping tick. A debit's
// notices first go out one-way; past a grace period, each member of bank(B)
// that has not taken one is asked which requests it credited (one call for
// all of them), and the rest get the notice again, with answers, until every
// member bank(B) had at any tick since (as this node computed it) took it, or
// its request is too old for any member to accept (epochs), or a majority
// took it long ago: a crash, a restart or an unreachable member delays a
// credit, it does not lose it. Then the records past their horizon are forgotten.
import { ErrorCode, finalCodes, hasCode } from '@p2pay/core'
import { RECORD_HORIZON_MS } from '../core/config.ts'
import { outboxRowDone, targetsOf } from '../core/outbox.ts'
import type { OutboxRow } from '../core/member-records.ts'
import { openTransfer } from '../core/messages.ts'
import { KIND } from '../kinds.ts'
import { forgetCaught } from './caught.ts'
import type { KarmaContext } from './context.ts'
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

/** Resends outstanding notices and drops the rows every member is done with, or that no member can accept any more. */
export async function tickOutbox(ctx: KarmaContext, now: number): Promise<void> {
  const { t, member, store, view } = ctx
  const grace = NOTICE_GRACE_SYNCS * ctx.cfg.syncMs
  await markCredited(
    ctx,
    [...t.outbox.values()].filter(row => row.at <= now - grace)
  )
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
 * The outbox rows past the grace period: each member of bank(B) that has
 * not taken one is asked, in one call for all of them, which it credited;
 * a credited request needs no notice there (a majority's notices did it).
 * One batch records the answers and drops the rows every member is done with.
 */
async function markCredited(ctx: KarmaContext, rows: readonly OutboxRow[]): Promise<void> {
  const { t, store, view, peers } = ctx
  const byMember = new Map<string, string[]>()
  const banks = new Map<string, string[]>()
  for (const row of rows) {
    let bankB: string[]
    try {
      bankB = await view.bank(row.to)
    } catch {
      continue
    }
    const all = targetsOf(row, bankB)
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
  if (by.size === 0) return
  await store.apply(() => {
    for (const [h, members] of by) {
      const cur = t.outbox.get(h)
      if (cur == null) continue
      const delivered = [...new Set([...cur.delivered, ...members])].sort()
      const all = banks.get(h)!
      if (all.every(m => delivered.includes(m))) t.outbox.delete(h)
      else t.outbox.set(h, { ...cur, delivered, targets: all })
    }
  })
}
