// Paying. With a coin this node owns and never spent, the owner issues it: the
// payee invoices a fresh key, the owner signs the seq 1 binding to it (its
// long-term identity: an owner is known), publishes it and delivers it. With a
// coin it holds, the node acts as a holder through one fresh identity for the
// whole transaction: the payee's invoice, the transfer request (coin-key and
// group signatures) to the owner, or to the broker's downtime path when the
// owner does not answer, and the delivery of the new binding to the payee.
//
// Every step is written before the next message leaves: the request once
// signed is kept in `pending` and sent again as it is (the owner and the broker
// answer a repeat with the same binding), the binding once got is kept and
// delivered again until the payee acknowledges it (a repeat is answered the
// same). Nothing is lost to a crash or a lost answer; the retry loop finishes it.
import { ErrorCode, P2payError, dialAddrs, fail, party, type Party } from '@p2pay/core'
import { openCoinCert } from '../core/coin.ts'
import type { OwnerCoin } from '../core/owner.ts'
import { TAG } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import type { AnonNode } from './anon-dial.ts'
import { LEDGER_PROTOCOL, OWNER_PROTOCOL, PAY_PROTOCOL } from './protocols.ts'
import type { Pending } from './tables.ts'
import {
  ACK_KIND,
  asHolder,
  errorOf,
  retryable,
  signHeld,
  type WalletContext,
  type WalletInit
} from './wallet-context.ts'
import { buy } from './wallet-buy.ts'

export interface PaidCoin {
  coin: string
  value: number
  /** issue (an owned coin) or transfer (a held one); via the broker when the owner did not answer */
  how: 'issue' | 'transfer' | 'downtime'
}

/**
 * How long a payment may stay unfinished: past it the retry loop ends it (the coin left to the payee when a
 * binding to its key exists, else held again). A coin is paid only if it stays valid that long.
 */
export const payDeadlineMs = (init: { payTimeoutMs: WalletInit['payTimeoutMs'] }): number =>
  Math.max(60 * init.payTimeoutMs, 5 * 60_000)

/** A transaction still under way (one that ended refused or given up is kept only as its record). */
export const active = (w: WalletContext, id: string): boolean => {
  const p = w.t.pending.get(id)
  return p != null && p.refused == null
}

/** Where this node listens (an owner's delivery carries them: its holders reach it there). */
const ownAddrs = (w: WalletContext): string[] =>
  w.c.network
    .getMultiaddrs()
    .map(a => a.toString())
    .map(a => (a.includes('/p2p/') ? a.slice(0, a.indexOf('/p2p/')) : a))
    .slice(0, 8)

/** A payee given by the caller, its address kept with the transaction so a retry reaches it too. */
const payeeOf = (p: Pending): Party => ({
  id: p.to!,
  ...(p.toAddrs?.[0] != null ? { addr: `${p.toAddrs[0]}/p2p/${p.to}` } : {})
})

/**
 * Pays `amount` to `to` (a peer id or a multiaddr ending in /p2p/<id>): held coins that add up to it exactly, else
 * owned ones, else one coin bought for it.
 */
export async function pay(w: WalletContext, toIn: unknown, amount: unknown): Promise<{ to: string; paid: PaidCoin[] }> {
  const to = party(toIn, 'to')
  if (to.id === w.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
  if (!Number.isSafeInteger(amount) || (amount as number) < 1)
    fail(ErrorCode.BAD_REQUEST, 'amount must be a positive integer')
  w.life.check()
  const picked = pick(w, amount as number)
  for (const c of picked ?? []) w.busy.add(c.id)
  let coins: Pick[]
  try {
    coins = picked ?? [await boughtFor(w, amount as number)]
  } catch (err) {
    for (const c of picked ?? []) w.busy.delete(c.id)
    throw err
  }
  const settled = await Promise.allSettled(
    coins.map(async c => await payOne(w, c, to).finally(() => w.busy.delete(c.id)))
  )
  const paid = settled.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  if (paid.length < coins.length) {
    const failed = settled.flatMap((r, i) =>
      r.status === 'rejected' ? [{ coin: coins[i].id, ...errorOf(r.reason) }] : []
    )
    if (paid.length === 0 && failed.length === 1)
      throw (settled.find(r => r.status === 'rejected') as PromiseRejectedResult).reason
    throw new P2payError(ErrorCode.UNREACHABLE, `${failed.length} of ${coins.length} coins are not acknowledged yet`, {
      paid,
      failed
    })
  }
  return { to: to.id, paid }
}

type Pick = { id: string; owned: boolean; value: number }

/** Coins this node bought and never spent (not issued, not deposited by itself, not in a payment). */
export const unspentOwned = (w: WalletContext): OwnerCoin[] =>
  [...w.owner.t.coins.values()].filter(
    o =>
      o.gen === 0 &&
      o.seq === 0 &&
      o.issued == null &&
      !w.t.ownSpent.has(o.coin) &&
      !active(w, o.coin) &&
      !w.busy.has(o.coin)
  )

/** Coins of this node that add up to `amount` exactly: held ones first (fewest), then owned unspent ones. */
function pick(w: WalletContext, amount: number): Pick[] | undefined {
  // a coin must reach its payee unexpired however long the payment takes
  const until = Date.now() + payDeadlineMs(w.init)
  const held: Pick[] = w.wallet
    .spendable(payDeadlineMs(w.init))
    .filter(h => !active(w, h.key) && !w.busy.has(h.key))
    .map(h => ({ id: h.key, owned: false, value: h.value }))
  const owned: Pick[] = unspentOwned(w)
    .filter(o => o.expiry > until)
    .map(o => ({ id: o.coin, owned: true, value: o.value }))
  for (const list of [held, owned]) {
    const one = list.find(c => c.value === amount)
    if (one != null) return [one]
  }
  for (const list of [held, owned]) {
    const set = exactSet(list, amount)
    if (set != null) return set
  }
  return undefined
}

/** The fewest-first set of `list` that adds up to `amount` exactly (a greedy pass over values high to low). */
function exactSet(list: Pick[], amount: number): Pick[] | undefined {
  const out: Pick[] = []
  let left = amount
  for (const c of [...list].sort((a, b) => b.value - a.value)) {
    if (c.value <= left) {
      out.push(c)
      left -= c.value
    }
    if (left === 0) return out
  }
  return undefined
}

async function boughtFor(w: WalletContext, value: number): Promise<Pick> {
  const mine: string[] = []
  try {
    const r = await buy(w, value, 1, id => {
      mine.push(id)
      w.busy.add(id)
    })
    return { id: r.coins[0].coin, owned: true, value }
  } catch (err) {
    for (const id of mine) w.busy.delete(id)
    throw err
  }
}

async function payOne(w: WalletContext, c: Pick, to: Party): Promise<PaidCoin> {
  return c.owned ? await issue(w, c.id, to) : await transfer(w, c.id, to)
}

/** The owner's issue of an owned coin: invoice, seq 1 binding, publish, deliver (long-term identity). */
async function issue(w: WalletContext, coin: string, to: Party): Promise<PaidCoin> {
  w.payees.learn(to.id, dialAddrs(to))
  const value = w.owner.coin(coin).value
  const inv = await w.payees.call<{ key: string; value: number }>(
    to,
    'invoice',
    { value },
    { kind: 'whopay-invoice', timeoutMs: w.init.payTimeoutMs }
  )
  if (inv.value !== value) fail(ErrorCode.BAD_REQUEST, 'the payee invoiced another value')
  const p = await w.store.apply(() => {
    if (active(w, coin) || w.t.ownSpent.has(coin)) fail(WhopayErrorCode.COIN_SPENT, 'that coin was spent')
    const b = w.owner.issue(coin, inv.key)
    const pending: Pending = {
      id: coin,
      coin,
      kind: 'issue',
      value,
      seq: 0,
      to: to.id,
      toAddrs: dialAddrs(to),
      toKey: inv.key,
      cert: w.owner.coin(coin).cert,
      answer: b.b64,
      attempts: 0,
      at: Date.now()
    }
    w.t.pending.set(coin, pending)
    return pending
  })
  await w.states
    .publish({ cert: p.cert, env: p.answer! })
    .catch(err => w.log.child('owner').warn('coin state not published', { err }))
  await deliverIssue(w, p)
  return { coin, value: p.value, how: 'issue' }
}

async function deliverIssue(w: WalletContext, p: Pending): Promise<void> {
  const to = payeeOf(p)
  w.payees.learn(to.id, p.toAddrs ?? [])
  try {
    await w.payees.call(
      to,
      'deliver',
      { cert: p.cert, binding: p.answer, owner: ownAddrs(w) },
      {
        kind: 'whopay-deliver',
        timeoutMs: w.init.payTimeoutMs
      }
    )
  } catch (err) {
    await failed(w, p, err)
    throw err
  }
  await w.store.apply(() => w.t.pending.delete(p.id))
}

/** A held coin passed on: one fresh identity for the invoice, the request and the delivery. */
async function transfer(w: WalletContext, key: string, to: Party): Promise<PaidCoin> {
  const kind: WhopayKind = 'whopay-transfer'
  return await asHolder(w, async anon => {
    const h = w.wallet.held(key)
    if (h.status !== 'held') fail(WhopayErrorCode.COIN_SPENT, 'that coin was spent meanwhile')
    const inv = await anon.call<{ key: string; value: number }>(
      to,
      PAY_PROTOCOL,
      'invoice',
      { value: h.value },
      { kind: 'whopay-invoice', timeoutMs: w.init.payTimeoutMs }
    )
    if (inv.value !== h.value) fail(ErrorCode.BAD_REQUEST, 'the payee invoiced another value')
    const request = await signHeld(w, key, TAG.transfer, inv.key, kind)
    const p = await w.store.apply(() => {
      if (active(w, key)) fail(WhopayErrorCode.COIN_SPENT, 'that coin was spent meanwhile')
      w.wallet.spending(key, request)
      const pending: Pending = {
        id: key,
        coin: h.coin,
        kind: 'transfer',
        value: h.value,
        seq: h.seq,
        to: to.id,
        toAddrs: dialAddrs(to),
        toKey: inv.key,
        cert: h.cert,
        binding: h.binding,
        request,
        attempts: 0,
        at: Date.now()
      }
      w.t.pending.set(key, pending)
      return pending
    })
    return await finishTransfer(w, anon, p)
  })
}

/** From a pending transfer: the owner's (or the broker's) binding if not got yet, then the delivery. */
export async function finishTransfer(w: WalletContext, anon: AnonNode, p: Pending): Promise<PaidCoin> {
  let how: PaidCoin['how'] = 'transfer'
  let cur = p
  if (cur.answer == null) {
    const r = await askOwnerOrBroker(w, anon, cur).catch(async (err: unknown) => {
      await failed(w, cur, err)
      throw err
    })
    how = r.how
    cur = await w.store.apply(() => {
      const now = w.t.pending.get(p.id) ?? cur
      const next = { ...now, answer: r.binding }
      w.t.pending.set(p.id, next)
      return next
    })
  }
  try {
    await anon.call(
      payeeOf(cur),
      PAY_PROTOCOL,
      'deliver',
      { cert: cur.cert, binding: cur.answer, owner: w.wallet.t.held.get(p.id)?.ownerAddrs ?? [] },
      {
        kind: 'whopay-deliver',
        timeoutMs: w.init.payTimeoutMs
      }
    )
  } catch (err) {
    await failed(w, cur, err)
    throw err
  }
  await w.store.apply(() => {
    if (w.t.pending.has(p.id)) w.wallet.settled(p.id, 'spent')
    w.t.pending.delete(p.id)
  })
  return { coin: cur.coin, value: cur.value, how }
}

/** Owner refusals that hold whoever is asked: the coin was spent or moved past this seq, or this is a double spend. */
const FINAL_REFUSALS: string[] = [ErrorCode.FRAUD, WhopayErrorCode.COIN_SPENT, ErrorCode.STALE_SEQ]

/**
 * The transfer request to the coin's owner; the broker's downtime path when the owner does not answer, refuses
 * for any other reason (it may have lost its records), or answers with a binding that does not check (not its
 * signature, not the payee's key, not the next seq, not this request). Every binding is checked before it is kept.
 */
async function askOwnerOrBroker(
  w: WalletContext,
  anon: AnonNode,
  p: Pending
): Promise<{ binding: string; how: 'transfer' | 'downtime' }> {
  const kind: WhopayKind = 'whopay-transfer'
  const cert = openCoinCert(w.c.verifier, p.cert, { broker: w.c.broker.id }, kind)
  const args = { cert: p.cert, ...(p.binding != null ? { binding: p.binding } : {}), request: p.request }
  // counted apart from Table I's transfer row: the payee's check is the one the paper counts
  const check = (binding: string): string => {
    w.wallet.checkAnswer(p.id, binding, p.toKey!, ACK_KIND as WhopayKind)
    return binding
  }
  // at the address its payer gave: a lookup of the owner from this node's long-term id would be seen near it
  const at = w.wallet.t.held.get(p.id)?.ownerAddrs?.[0]
  const owner: Party = { id: cert.owner, ...(at != null ? { addr: `${at}/p2p/${cert.owner}` } : {}) }
  try {
    const r = await anon.call<{ binding: string }>(owner, OWNER_PROTOCOL, 'transfer', args, {
      kind,
      timeoutMs: w.init.payTimeoutMs
    })
    return { binding: check(r.binding), how: 'transfer' }
  } catch (err) {
    if (w.life.stopped || (err instanceof P2payError && FINAL_REFUSALS.includes(err.code))) throw err
    w.log.child('holder').info("the coin's owner gave no binding: the broker's downtime path", { coin: p.coin, err })
  }
  const r = await anon.call<{ binding: string }>(w.c.broker, LEDGER_PROTOCOL, 'transfer', args, {
    kind,
    timeoutMs: Math.max(w.init.payTimeoutMs, 15_000)
  })
  return { binding: check(r.binding), how: 'downtime' }
}

/**
 * A failed step: counted; a peer's refusal (not a failure of the way) ends the transaction (`end`), and so does
 * a failure past the payment's deadline, except while a transfer request is out unanswered: the owner may have
 * signed it and the answer got lost, so the coin is not this holder's to spend otherwise (another request at the
 * same seq would be a double spend). That request is sent again, to the owner or the broker, until one answers.
 */
async function failed(w: WalletContext, p: Pending, err: unknown): Promise<void> {
  if (w.life.stopped) return
  if (!retryable(err)) return await end(w, p, errorOf(err))
  const requestOut = p.kind === 'transfer' && p.request != null && p.answer == null
  if (!requestOut && Date.now() > p.at + payDeadlineMs(w.init))
    return await end(w, p, { code: ErrorCode.TIMEOUT, message: `past its deadline: ${errorOf(err).message}` })
  await w.store.apply(() => {
    const now = w.t.pending.get(p.id)
    if (now != null && now.refused == null) w.t.pending.set(p.id, { ...now, attempts: now.attempts + 1 })
  })
}

/**
 * Ends a payment for good, with its reason kept (GET /coins): a coin already bound to the payee's key is left to
 * the payee (spent); one whose request was refused is held again, free to pay or deposit, unless the refusal says
 * the coin moved past this seq or this was a double spend (then it stays out of use: another request would be one).
 */
export async function end(w: WalletContext, p: Pending, reason: { code: string; message: string }): Promise<void> {
  await w.store.apply(() => {
    const now = w.t.pending.get(p.id)
    if (now == null || now.refused != null) return
    if (now.kind === 'transfer' && w.wallet.t.held.has(now.id)) {
      if (now.answer != null || FINAL_REFUSALS.includes(reason.code)) w.wallet.settled(now.id, 'spent')
      else if (now.request != null) w.wallet.unspend(now.id, now.request)
    }
    // an issue's binding to the payee's key was signed before it left: the coin is the payee's
    w.t.pending.set(p.id, { ...now, attempts: now.attempts + 1, refused: reason })
  })
  w.log.child('holder').info('payment ended without acknowledgement', { coin: p.coin, ...reason })
}

/** Sends a pending issue or transfer on (the retry loop: a fresh identity per attempt). */
export async function resume(w: WalletContext, p: Pending): Promise<void> {
  if (p.kind === 'issue') return await deliverIssue(w, p)
  if (p.kind === 'transfer') await asHolder(w, async anon => await finishTransfer(w, anon, p))
}

export interface PayManyResult {
  payments: number
  failed: number
  ms: number
  errors: Record<string, number>
}

/** `count` payments of `value` each to one payee, `concurrency` in flight at once (coins bought as needed). */
export async function payMany(
  w: WalletContext,
  to: unknown,
  value: unknown,
  countIn: unknown,
  concurrencyIn: unknown
): Promise<PayManyResult> {
  const n = countIn as number
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000) fail(ErrorCode.BAD_REQUEST, 'count must be 1..100000')
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    fail(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
  if (party(to, 'to').id === w.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
  const concurrency = Math.max(1, Math.min(Number.isSafeInteger(concurrencyIn) ? (concurrencyIn as number) : 8, 256))
  let next = 0
  let payments = 0
  let failures = 0
  const errors: Record<string, number> = {}
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        next++
        try {
          await pay(w, to, value)
          payments++
        } catch (err) {
          failures++
          const code = errorOf(err).code
          errors[code] = (errors[code] ?? 0) + 1
          if (!retryable(err) || code === ErrorCode.ABORTED) next = n
        }
      }
    })
  )
  return { payments, failed: failures, ms: Math.round(performance.now() - t0), errors }
}
