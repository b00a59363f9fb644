// The AC's deposits: a provider's batch of countersigned cheques, each paid at
// once, held for the complaint window, or refused on its own; and the release
// of held proceeds once their window has passed. Pure, over the AC's books.
import { ErrorCode, P2payError, checkClock, fail, sha256Hex, type Opened, type Verifier } from '@p2pay/core'
import { bannedUntil, payOwed } from './accounting-bans.ts'
import type { AcBooks } from './accounting-books.ts'
import type {
  AccountingConfig,
  CertificateRecord,
  ChequeRecord,
  DepositItem,
  DepositItemResult,
  DepositResult
} from './accounting-records.ts'
import {
  decodeEnvelope,
  openCertificate,
  openCheque,
  openChequeAccept,
  openDepositRequest,
  saleKey,
  type ChequeBody
} from './messages.ts'

/** What an AC operation works with: its books, its signature checks, its settings and its own peer id. */
export interface AcContext {
  books: AcBooks
  verifier: Verifier
  cfg: AccountingConfig
  /** the AC's peer id: certificates name it, and deposit fees go to its account */
  ac: string
}

interface Checked {
  cheque: Opened<ChequeBody>
  cert: CertificateRecord
  key: string
  sale: ChequeRecord
}

/**
 * Deposits a batch of cheques for the provider that signed the request. Each
 * cheque is paid, held, or refused on its own (one bad cheque does not sink
 * the batch); the fee is charged once, only if something was paid, and
 * never more than was paid. A retry of a request that paid returns the
 * first answer. Refusals of the batch itself (bad request, wrong AC, nonce
 * REPLAY) throw.
 */
export function deposit(x: AcContext, requestB64: unknown, items: unknown): DepositResult {
  const req = openDepositRequest(x.verifier, requestB64)
  const b = req.body
  if (b.ac !== x.ac) fail(ErrorCode.WRONG_BROKER, 'deposit request is for another AC')
  const depositKey = `${b.provider}|${b.nonce}`
  const done = x.books.t.deposits.get(depositKey)
  if (done != null) {
    if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different deposit')
    return done.result
  }
  if (b.cheques.length > x.cfg.maxDepositBatch)
    fail(ErrorCode.BAD_REQUEST, `a deposit holds at most ${x.cfg.maxDepositBatch} cheques`)
  if (!Array.isArray(items) || items.length !== b.cheques.length)
    fail(ErrorCode.BAD_REQUEST, 'items must match the cheques the deposit request lists')
  // the provider's signature names each cheque; the batch must be exactly what it signed
  const list = items.map((it: unknown, i: number): DepositItem => {
    if (it == null || typeof it !== 'object')
      fail(ErrorCode.BAD_REQUEST, `item ${i} must be {cheque, accept, certificate}`)
    const { cheque, accept, certificate } = it as Record<string, unknown>
    if (sha256Hex(decodeEnvelope(cheque, `item ${i} cheque`)) !== b.cheques[i])
      fail(ErrorCode.BAD_REQUEST, `item ${i} is not the cheque the deposit request lists`)
    return { cheque: cheque as string, accept: accept as string, certificate: certificate as string }
  })

  const now = x.cfg.now()
  // a banned provider's proceeds wait for its ban to end, whatever the form
  const banned = bannedUntil(x.books, b.provider, now)
  const releaseAt = Math.max(now + x.cfg.holdMs, banned)
  const results: DepositItemResult[] = []
  const heldKeys: string[] = []
  let paid = 0
  let held = 0
  for (const [i, item] of list.entries()) {
    let ok: Checked
    try {
      ok = checkItem(x, item, b.provider, now)
    } catch (err) {
      if (!(err instanceof P2payError)) throw err
      results.push({ status: 'refused', cheque: b.cheques[i], code: err.code, message: err.message })
      continue
    }
    // checked, now settle: later items see this one (a serial twice in one batch pays once)
    const c = ok.cheque.body
    // only a fixed-form cheque can be voided by the judge, so only its price waits out the window
    const hold = banned > 0 || (c.form === 'fixed' && x.cfg.holdMs > 0)
    const deposited = {
      at: now,
      deposit: req.hash,
      cheque: item.cheque,
      accept: item.accept,
      releaseAt: hold ? releaseAt : now
    }
    if (hold) {
      const cert = x.books.t.certificates.get(ok.cert.hash)!
      x.books.t.certificates.set(cert.hash, { ...cert, reserved: cert.reserved - c.price, held: cert.held + c.price })
      x.books.t.cheques.set(ok.key, { ...ok.sale, status: 'held', hash: ok.cheque.hash, deposited })
      heldKeys.push(ok.key)
      held += c.price
    } else {
      x.books.spendEscrow(ok.cert.hash, c.price, 'reserved', 'paid')
      x.books.t.cheques.set(ok.key, { ...ok.sale, status: 'paid', hash: ok.cheque.hash, deposited, paidAt: now })
      x.books.credit(c.provider, c.price)
      paid += c.price
    }
    results.push({
      status: hold ? 'held' : 'paid',
      cheque: ok.cheque.hash,
      downloader: c.downloader,
      chequeSn: c.chequeSn,
      price: c.price
    })
  }
  const fee = Math.min(x.cfg.depositFee, paid)
  if (fee > 0) {
    x.books.credit(b.provider, -fee)
    x.books.credit(x.ac, fee)
  }
  if (paid > 0) payOwed(x.books, b.provider)
  const result: DepositResult = {
    deposit: req.hash,
    provider: b.provider,
    results,
    paid,
    held,
    ...(held > 0 ? { releaseAt } : {}),
    fee
  }
  // a batch that settled nothing moved nothing: it leaves no trace, and a retry is simply re-checked
  if (paid > 0 || held > 0) {
    if (paid > 0) x.books.bump({ paid, fees: fee })
    // the fee was not charged now if nothing was paid now: it is taken when the held part is released
    if (held > 0)
      x.books.t.holds.set(req.hash, {
        provider: b.provider,
        releaseAt,
        keys: heldKeys,
        fee: fee > 0 ? 0 : x.cfg.depositFee
      })
    x.books.t.deposits.set(depositKey, { hash: req.hash, at: now, result })
  }
  return result
}

/** Everything that must hold before a cheque is settled; throws the first thing that does not. */
function checkItem(x: AcContext, item: DepositItem, depositor: string, now: number): Checked {
  const cheque = openCheque(x.verifier, item.cheque, 'fairex-deposit')
  const c = cheque.body
  openChequeAccept(x.verifier, item.accept, cheque, 'fairex-deposit')
  const certEnv = openCertificate(x.verifier, item.certificate, x.ac, 'fairex-deposit')
  if (c.provider !== depositor) fail(ErrorCode.WRONG_HOLDER, "only the cheque's provider can deposit it")
  const key = saleKey(c.provider, c.downloader, c.chequeSn)
  const sale = x.books.t.cheques.get(key)
  if (sale == null)
    fail(
      ErrorCode.NOT_FOUND,
      'no reservation for this sale: a provider reserves the price at the AC before it sends pieces'
    )
  if (sale.status === 'void')
    fail(ErrorCode.FRAUD, 'this sale was voided by the judge', { verdict: sale.void?.verdict })
  if (sale.status !== 'reserved')
    fail(ErrorCode.ALREADY_CASHED, 'this sale was already deposited', { cheque: sale.hash })
  if (sale.certificate !== certEnv.hash)
    fail(ErrorCode.BAD_REQUEST, 'the sale was reserved under another capital certificate')
  if (c.price !== sale.price) fail(ErrorCode.BAD_REQUEST, `cheque price ${c.price} is not the reserved ${sale.price}`)
  if (c.form === 'fixed' && (c.req !== sale.request || c.certificate !== sale.certificate))
    fail(ErrorCode.BAD_REQUEST, 'cheque signs another request or certificate than the reservation')
  // a cheque dated ahead of the AC's clock: the provider's clock is off; it stays queued and pays later
  if (c.ts > now) checkClock(c.ts, now, x.cfg.maxClockSkewMs, 'the cheque')
  const cert = x.books.t.certificates.get(sale.certificate)!
  if (cert.released != null || now > cert.expiry + x.cfg.depositGraceMs)
    fail(ErrorCode.EXPIRED, 'capital certificate expired and its escrow was returned')
  return { cheque, cert, key, sale }
}

/** Pays providers the held proceeds whose complaint window has passed (less each batch's deferred fee). */
export function releaseHeld(
  x: AcContext,
  now: number
): Array<{ deposit: string; provider: string; paid: number; fee: number }> {
  const due = [...x.books.t.holds.entries()].filter(([, h]) => h.releaseAt <= now)
  const out: Array<{ deposit: string; provider: string; paid: number; fee: number }> = []
  for (const [deposit, h] of due) {
    // banned since it deposited: what is still held waits for the ban to end (a batch all voided goes now)
    const until = bannedUntil(x.books, h.provider, now)
    const keys = until > 0 ? h.keys.filter(k => x.books.t.cheques.get(k)?.status === 'held') : []
    if (keys.length > 0) {
      x.books.t.holds.set(deposit, { ...h, keys, releaseAt: until })
      for (const k of keys) {
        const sale = x.books.t.cheques.get(k)!
        x.books.t.cheques.set(k, { ...sale, deposited: { ...sale.deposited!, releaseAt: until } })
      }
      continue
    }
    let sum = 0
    for (const key of h.keys) {
      const sale = x.books.t.cheques.get(key)
      if (sale?.status !== 'held') continue // voided inside the window
      x.books.spendEscrow(sale.certificate, sale.price, 'held', 'paid')
      x.books.t.cheques.set(key, { ...sale, status: 'paid', paidAt: now })
      sum += sale.price
    }
    const fee = Math.min(h.fee, sum)
    if (sum > 0) x.books.credit(h.provider, sum - fee)
    if (fee > 0) x.books.credit(x.ac, fee)
    x.books.bump({ paid: sum, fees: fee })
    if (sum > fee) payOwed(x.books, h.provider)
    x.books.t.holds.delete(deposit)
    out.push({ deposit, provider: h.provider, paid: sum, fee })
  }
  return out
}
