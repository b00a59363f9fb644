// The account holder's transfers. A transfer A -> B: A signs the request
// (its next nonce), records it, sends it to every member of bank(A) and, at
// the same time, waits for bank(B)'s credit receipts (pushed as each member
// credits; long-polled from the members not heard from). It is done once a
// strict majority of bank(A) signed debit receipts and a strict majority of
// bank(B) signed credit receipts, both sets as A computes them; then B gets
// the bundle. A request that neither completes nor is refused by a majority
// stays pending and is retried (same bytes, so members apply it once) before
// A signs anything else.
import { ErrorCode, P2payError, asError, checkPeerId, fail } from '@p2pay/core'
import {
  FINAL_REFUSALS,
  isReceiptFor,
  majorityError,
  refusalError,
  refusalVotes,
  type SentRow,
  type TransferResult
} from '../core/account.ts'
import { majorityValue } from '../core/majority.ts'
import { MAX_KARMA, makeTransfer, openReceipt, openTransfer, type ReceiptBody, type Signed } from '../core/messages.ts'
import { KarmaErrorCode } from '../errors.ts'
import { KIND } from '../kinds.ts'
import type { AccountHolder } from './account.ts'

/** how long a payer waits for bank(B) to push credit receipts before it long-polls the members it did not hear from */
const PUSH_WAIT_MS = 2000

export async function transfer(
  h: AccountHolder,
  to: string,
  amount: number,
  payment?: string
): Promise<TransferResult> {
  const { ctx } = h
  checkPeerId(to, 'to')
  if (to === h.me) fail(ErrorCode.BAD_REQUEST, 'a transfer to oneself moves nothing')
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_KARMA)
    fail(ErrorCode.BAD_REQUEST, `amount must be an integer 1..${MAX_KARMA}`)
  return await h.serial(async () => {
    await finishPending(h)
    if (!h.known.has(to)) {
      try {
        await h.read(to)
      } catch (err) {
        if (err instanceof P2payError && err.code === ErrorCode.NOT_FOUND)
          fail(ErrorCode.NOT_FOUND, `unknown peer ${to}: no karma account`, { to })
        throw err
      }
    }
    const nonce = await nextNonce(h)
    const epoch = ctx.member.epoch().epoch
    const req = makeTransfer(ctx.signer, { to, amount, nonce, epoch, ts: Date.now() })
    await ctx.store.apply(() =>
      ctx.t.sent.set(req.hash, {
        request: req.b64,
        requestHash: req.hash,
        to,
        amount,
        nonce,
        status: 'pending',
        at: Date.now(),
        ...(payment != null ? { payment } : {})
      })
    )
    return await complete(h, req.b64)
  })
}

async function nextNonce(h: AccountHolder): Promise<number> {
  const { store, t } = h.ctx
  let w = t.wallet.get('self')
  if (w == null) {
    const r = await h.read(h.me, true)
    w = { nonce: r.nonce, joined: true }
    await store.apply(() => t.wallet.set('self', w!))
  }
  return w.nonce + 1
}

/** Retries this account's own pending request, if any; throws if it still cannot complete. */
async function finishPending(h: AccountHolder): Promise<void> {
  for (const row of [...h.ctx.t.sent.values()]) if (row.status === 'pending') await complete(h, row.request)
}

/** Relays the payer's own pending request and records the outcome; one done already is answered from its row. */
export async function complete(h: AccountHolder, request: string): Promise<TransferResult> {
  const { ctx } = h
  const { store, t } = ctx
  const req = openTransfer(ctx.verifier, request)
  // a settle tick finds a row pending and waits its turn behind the payer's next transfer, which completes the row
  // and signs the nonce after it: relayed again, every member would refuse it as a REPLAY and the row of a transfer
  // the bank applied would be deleted. Only a row still pending goes out.
  const row = t.sent.get(req.hash)
  if (row?.status === 'done') return doneAnswer(h, row)
  if (row == null) fail(ErrorCode.NOT_FOUND, 'no pending transfer with this request: a majority of bank(A) refused it')
  try {
    const r = await relay(h, request)
    // not awaited: until this is on disk the request merely looks pending, and a retry of it changes nothing
    const recorded = store.apply(() => {
      t.sent.set(req.hash, {
        ...t.sent.get(req.hash)!,
        status: 'done',
        debitedBy: r.debitedBy,
        creditedBy: r.creditedBy
      })
      t.wallet.set('self', { nonce: Math.max(req.body.nonce, t.wallet.get('self')?.nonce ?? 0), joined: true })
    })
    void ctx.life.track('transfer record', recorded).catch(() => {})
    return r
  } catch (err) {
    if (err instanceof P2payError && FINAL_REFUSALS.has(err.code) && t.sent.get(req.hash)?.status === 'pending') {
      await store.apply(() => {
        t.sent.delete(req.hash)
        // our idea of the nonce was wrong (e.g. a lost data dir): ask the bank next time
        if (err.code === ErrorCode.REPLAY || err.code === ErrorCode.FRAUD) t.wallet.delete('self')
      })
    }
    throw err
  }
}

/** The answer of a transfer recorded done: what both majorities signed when it completed. */
function doneAnswer(h: AccountHolder, row: SentRow): TransferResult {
  return {
    requestHash: row.requestHash,
    from: h.me,
    to: row.to,
    amount: row.amount,
    nonce: row.nonce,
    debitedBy: row.debitedBy ?? [],
    creditedBy: row.creditedBy ?? [],
    ms: 0
  }
}

/**
 * Takes any signed request to bank(A) and waits for majorities on both
 * sides. Used for this node's own payments and to relay requests signed
 * elsewhere. Refusal by a majority throws the refusal's code; anything
 * short of both majorities throws NO_MAJORITY or TIMEOUT.
 */
export async function relay(h: AccountHolder, request: unknown): Promise<TransferResult> {
  const { ctx } = h
  const t0 = performance.now()
  const req = openTransfer(ctx.verifier, request)
  const { from, to, amount, nonce } = req.body
  const [bankA, bankB] = await Promise.all([ctx.view.bank(from), ctx.view.bank(to)])
  const need = h.needed
  const debits = new Map<string, Signed<ReceiptBody>>()
  const credits = new Map<string, Signed<ReceiptBody>>()
  const refusals: Array<PromiseSettledResult<unknown>> = []
  let settledDebits = 0
  let settledCredits = 0
  /** long-polls started (-1: none yet) */
  let polls = -1
  let poll: NodeJS.Timeout | undefined
  let startPolls = (): void => {}
  let allDebitsSettled = (): void => {}
  const debitsSettled = new Promise<void>(resolve => {
    allDebitsSettled = resolve
  })
  const outcome = await new Promise<'done' | 'refused' | 'short'>(resolve => {
    const check = (): void => {
      if (debits.size >= need && credits.size >= need) return resolve('done')
      const votes = refusalVotes(refusals)
      if (votes.length >= need && majorityError(votes, need, 'transfer').code !== KarmaErrorCode.NO_MAJORITY)
        return resolve('refused')
      if (settledDebits === bankA.length && debits.size < need)
        return resolve(refusals.length > 0 ? 'refused' : 'short')
      if (settledDebits === bankA.length && settledCredits === polls) resolve('short')
    }
    for (const m of bankA) {
      ctx.peers
        .call<{ receipt: string }>(m, 'debit', { request }, KIND.transfer)
        .then(r => {
          const s = openReceipt(ctx.verifier, r.receipt)
          if (isReceiptFor(s, m, 'debit', from, req.hash)) debits.set(m, s)
        })
        .catch(err => {
          refusals.push({ status: 'rejected', reason: err })
        })
        .finally(() => {
          settledDebits++
          if (settledDebits === bankA.length) allDebitsSettled()
          check()
        })
    }
    // credit receipts for this node's own requests are pushed by bank(B) as it credits; the members not heard from
    // within PUSH_WAIT_MS (and every member, for a request relayed for another payer) are long-polled
    const take = (s: Signed<ReceiptBody>): void => {
      if (bankB.includes(s.signer) && isReceiptFor(s, s.signer, 'credit', to, req.hash)) {
        credits.set(s.signer, s)
        check()
      }
    }
    for (const s of h.pushed.get(req.hash) ?? []) take(s)
    h.pushed.delete(req.hash)
    h.pushWaiters.set(req.hash, take)
    startPolls = (): void => {
      if (polls >= 0) return
      polls = bankB.filter(m => !credits.has(m)).length
      for (const m of bankB) {
        if (credits.has(m)) continue
        awaitCredit(h, m, req.hash, to)
          .then(s => {
            if (s !== undefined) credits.set(m, s)
          })
          .catch(() => {})
          .finally(() => {
            settledCredits++
            check()
          })
      }
      check()
    }
    poll = setTimeout(startPolls, from === h.me ? PUSH_WAIT_MS : 0)
    // a stopping service polls at once: the polls end with ABORTED, and with them the wait
    ctx.life.signal.addEventListener('abort', startPolls, { once: true })
  })
  clearTimeout(poll)
  ctx.life.signal.removeEventListener('abort', startPolls)
  // the credit receipts of this account's own request, and those that come after the majority, are kept for bank(A)'s
  // outboxes: one question to this node then serves for every member of bank(B)
  if (outcome === 'done' && from === h.me)
    h.kept.set(req.hash, { to, bank: bankB, receipts: new Map([...credits].map(([m, s]) => [m, s.b64])) })
  h.pushWaiters.delete(req.hash)
  if (outcome === 'refused' && debits.size < need) {
    // a final refusal frees the nonce: first every member's answer, as one that applied the request may answer last
    // (its balance had a credit the others had not applied yet), and its debit would spread through bank sync
    if (FINAL_REFUSALS.has(refusalError(refusals, need, debits.size).code)) await debitsSettled
    throw refusalError(refusals, need, debits.size)
  }
  if (debits.size < need)
    fail(KarmaErrorCode.NO_MAJORITY, `only ${debits.size} of bank(${from}) debited (need ${need})`, {
      debitedBy: [...debits.keys()]
    })
  if (credits.size < need) {
    // bank(B) as cached may be stale, or notices are still on their way: one more wait, on fresh sets
    const fresh = await ctx.view.bank(to, true)
    await new Promise<void>(resolve => {
      const ask = fresh.filter(m => !credits.has(m))
      let settled = 0
      if (ask.length === 0) resolve()
      for (const m of ask) {
        awaitCredit(h, m, req.hash, to)
          .then(s => {
            if (s !== undefined) credits.set(m, s)
          })
          .catch(() => {})
          .finally(() => {
            settled++
            if (credits.size >= need || settled === ask.length) resolve()
          })
      }
    })
    for (const m of [...credits.keys()]) if (!fresh.includes(m) && !bankB.includes(m)) credits.delete(m)
  }
  if (credits.size < need)
    fail(
      ErrorCode.TIMEOUT,
      `debited by a majority, but only ${credits.size} of bank(${to}) confirmed the credit so far (need ${need}); ` +
        'it stays pending',
      { debitedBy: [...debits.keys()], creditedBy: [...credits.keys()] }
    )
  const balanceAfter = (): number | undefined =>
    majorityValue([...debits.values()], bankA, (b: { balanceAfter?: number }) => b.balanceAfter ?? -1, ctx.cfg.k)?.value
  // a member that has not applied a recent credit to A yet signs another balanceAfter: the rest of the answers decide
  if (balanceAfter() === undefined) await debitsSettled
  const after = balanceAfter()
  const result: TransferResult = {
    requestHash: req.hash,
    from,
    to,
    amount,
    nonce,
    debitedBy: [...debits.keys()].sort(),
    creditedBy: [...credits.keys()].sort(),
    ...(after !== undefined && after >= 0 ? { balance: after } : {}),
    ms: Math.round((performance.now() - t0) * 10) / 10
  }
  // B's copy of the receipts goes out after A has its answer: the transfer is complete either way
  const bundle = {
    request,
    debits: [...debits.values()].map(s => s.b64),
    credits: [...credits.values()].map(s => s.b64)
  }
  ctx.life.spawn('receipt to payee', async () => {
    await ctx.peers.send(to, 'receipt', bundle, KIND.transfer).catch(err => {
      h.log.info('payee not told of its receipt (it can read its balance)', { to, err: asError(err).message })
    })
  })
  return result
}

/** Member m's signed credit receipt for the request, once it credited `to` (a long-poll). */
async function awaitCredit(
  h: AccountHolder,
  m: string,
  requestHash: string,
  to: string
): Promise<Signed<ReceiptBody> | undefined> {
  const { ctx } = h
  const waitMs = ctx.cfg.callTimeoutMs - 500
  const r = await ctx.peers.call<{ receipt: string }>(m, 'awaitCredit', { requestHash, waitMs }, KIND.transfer)
  const s = openReceipt(ctx.verifier, r.receipt)
  return isReceiptFor(s, m, 'credit', to, requestHash) ? s : undefined
}
