// The broker's WhoPay ledger: a pure, synchronous state machine over tables, like PPay's and AggSign's. The service
// runs each call inside `store.apply`; every call checks all it needs before it changes anything, so a refusal
// leaves the tables as they were.
//
// Money. A purchase moves the coin's value from the owner's account into custody; a deposit moves it from custody
// into the depositor's purse (keyed by a purse key, never a peer id); a withdrawal moves purse money to the account
// the purse key names. A double spend found here is refused FRAUD with the evidence in its details: the service has
// the judge open it and then calls `convict`, which records the fraud and pays an honest holder whose valid chain
// lost from the cheater's account, never below zero (the rest is recorded as shortfall, never created).
//
// Group signatures: the service verifies a request's group signature (through the worker pool) before it calls
// `downtimeTransfer`, `deposit` or `renew` with the opened coin (coin.ts `openShown`); this file trusts that.
import {
  ErrorCode,
  checkPeerId,
  decodeSigned,
  fail,
  sha256Hex,
  toB64,
  utf8,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import {
  answeredOf,
  openBinding,
  signAnswer,
  signCoinCert,
  type CoinBinding,
  type CoinCert,
  type ShownCoin
} from './coin.ts'
import { conflicts, holderEvidenceOf, type Evidence, type OwnerEvidence } from './evidence.ts'
import { convictCase, type ConvictInput, type LedgerState } from './ledger-fraud.ts'
import { withdrawFrom } from './ledger-purse.ts'
import { adoptBindingIn, certAt, type Adopted } from './ledger-learn.ts'
import { openHolder, type OpenedHolder } from './holder.ts'
import { LedgerBooks, type LedgerAudit } from './ledger-books.ts'
import type {
  CoinRecord,
  DepositResult,
  FraudRecord,
  LedgerConfig,
  LedgerTables,
  PurchaseResult,
  RenewResult,
  SeenRequest,
  TransferResult,
  WithdrawResult
} from './ledger-records.ts'
import { reqKey } from './ledger-records.ts'
import { LIMITS, TAG, HOLDER_TAGS, destinationOf, isValue, type ConvictionBody, type SpentBody } from './messages.ts'

export class Ledger {
  readonly t: LedgerTables
  readonly cfg: LedgerConfig
  readonly books: LedgerBooks
  private readonly signer: Signer<WhopayKind>
  private readonly verifier: Verifier<WhopayKind>

  constructor(t: LedgerTables, signer: Signer<WhopayKind>, verifier: Verifier<WhopayKind>, cfg: LedgerConfig) {
    this.t = t
    this.cfg = cfg
    this.signer = signer
    this.verifier = verifier
    this.books = new LedgerBooks(t)
  }

  get broker(): string {
    return this.signer.peerId
  }

  coin(coin: string): CoinRecord {
    const r = this.t.coins.get(coin)
    if (r == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'no coin with this key was sold here')
    return r
  }

  private certAt(r: CoinRecord, gen: number): CoinCert {
    return certAt(this.ctx(), r, gen)
  }

  /**
   * Sells `owner` a coin of `value` under the coin key it made: debits the owner's account and signs the
   * certificate. The same purchase again returns the same certificate; the key with other terms is refused.
   */
  purchase(owner: string, coinIn: unknown, valueIn: unknown): PurchaseResult {
    const coin = checkPeerId(coinIn, 'coin key')
    if (!isValue(valueIn) || valueIn > this.cfg.maxCoinValue)
      fail(ErrorCode.BAD_REQUEST, `value must be a whole amount 1..${this.cfg.maxCoinValue}`)
    const value = valueIn
    const known = this.t.coins.get(coin)
    if (known != null) {
      if (known.owner !== owner || known.value !== value || known.gen !== 0)
        fail(ErrorCode.REPLAY, 'this coin key was sold with other terms: make a new one')
      return { coin, cert: known.certs['0'], value }
    }
    if (this.books.balance(owner) < value)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.books.balance(owner)} < value ${value}`)
    const now = this.cfg.now()
    const serial = sha256Hex(utf8(`whopay-serial|${coin}`)).slice(0, 32)
    if (this.t.serials.has(serial)) fail(ErrorCode.REPLAY, 'serial already used')
    const cert = signCoinCert(
      this.signer,
      { coin, owner, value, expiry: now + this.cfg.coinTtlMs, serial, gen: 0 },
      'whopay-purchase'
    )
    this.books.credit(owner, -value)
    this.books.bump({ purchased: value })
    this.t.serials.set(serial, { coin })
    this.t.coins.set(coin, {
      coin,
      owner,
      value,
      expiry: cert.expiry,
      serial,
      gen: 0,
      cert: cert.b64,
      certs: { '0': cert.b64 },
      seq: 0,
      holder: coin,
      state: 'outstanding',
      spent: {},
      boughtAt: now
    })
    return { coin, cert: cert.b64, value }
  }

  /** The seen request at the shown request's (coin, gen, seq), if it conflicts with it: a FRAUD refusal. */
  private conflictCheck(s: ShownCoin): void {
    const r = s.request.body
    const seen = this.t.requests.get(reqKey(r.coin, r.gen, r.seq))
    if (seen == null || seen.env === toB64(s.request.env)) return
    const other = this.openSeen(seen)
    // another key at this seq is no double spend of this key (a stale or doubly bound holder: checked after)
    if (other.holder !== s.request.holder || !conflicts(other, s.request)) return
    const evidence: Evidence = {
      cert: s.cert.b64,
      a: { env: seen.env, group: seen.group },
      b: { env: toB64(s.request.env), group: toB64(s.request.group) },
      ...(s.binding !== undefined ? { bindings: [s.binding.b64] } : {})
    }
    fail(ErrorCode.FRAUD, `coin key signed two spends at seq ${r.seq}`, { evidence, compensate: false })
  }

  /**
   * The owner's issue (seq 1) against a spend its coin key signed at seq 0 that does not pass the coin to the issued
   * holder: the owner gave the coin away and spent it too. FRAUD with owner evidence; the issued holder's deposit
   * is compensated from the owner.
   */
  private ownerSpend(s: ShownCoin): void {
    const q = s.request.body
    const b = s.binding
    const passes = (tag: string, to: string, holder: string): boolean => tag === TAG.transfer && to === holder
    if (b !== undefined && b.seq === 1 && b.by === 'owner' && b.answered === undefined) {
      const seen = this.t.requests.get(reqKey(q.coin, q.gen, 0))
      if (seen != null && !passes(seen.tag, seen.to, b.holder)) {
        const ownerEvidence: OwnerEvidence = { cert: s.cert.b64, a: b.b64, spend: { env: seen.env, group: seen.group } }
        fail(ErrorCode.FRAUD, 'the owner issued this coin and spent it at seq 0', {
          ownerEvidence,
          compensate: s.request.tag === TAG.deposit
        })
      }
    }
    const r = this.t.coins.get(q.coin)
    if (q.seq !== 0 || r?.binding === undefined || r.seq !== 1 || r.gen !== q.gen) return
    const issue = openBinding(this.verifier, r.binding, s.cert, 'whopay-deposit')
    if (issue.by !== 'owner' || issue.answered !== undefined) return
    if (passes(s.request.tag, destinationOf(q), issue.holder)) return
    const spend = { env: toB64(s.request.env), group: toB64(s.request.group) }
    const ownerEvidence: OwnerEvidence = { cert: s.cert.b64, a: issue.b64, spend }
    fail(ErrorCode.FRAUD, 'the owner issued this coin and spends it at seq 0', { ownerEvidence, compensate: false })
  }

  private openSeen(seen: SeenRequest): OpenedHolder {
    return openHolder(this.verifier, { env: seen.env, group: seen.group }, HOLDER_TAGS, 'whopay-deposit')
  }

  /**
   * Every check a holder's spend at the broker passes before it acts (a downtime transfer, a deposit, a renewal):
   * no conflicting request, no owner spend, not a chain that lost, the coin current and shown by its holder.
   */
  private spendable(s: ShownCoin, graceMs: number): CoinRecord {
    this.conflictCheck(s)
    this.ownerSpend(s)
    this.lostChain(s)
    const r = this.current(s, graceMs)
    this.knownHolder(r, s)
    return r
  }

  /** The record of the shown coin, checked current: its generation, not spent, not expired past `graceMs`. */
  private current(s: ShownCoin, graceMs: number): CoinRecord {
    const r = this.coin(s.cert.coin)
    const known = r.certs[String(s.cert.gen)]
    if (known === undefined) fail(WhopayErrorCode.WRONG_GEN, `the coin has no generation ${s.cert.gen}`)
    if (s.cert.b64 !== known) fail(ErrorCode.BAD_REQUEST, 'certificate is not the one this broker holds for the coin')
    if (s.cert.gen < r.gen) fail(WhopayErrorCode.COIN_SPENT, `generation ${s.cert.gen} was renewed`)
    // a binding at the deposited seq naming another holder is a conflict to convict, not a late deposit
    if (r.state === 'deposited' && s.request.body.seq === r.seq) this.knownHolder(r, s)
    if (r.state === 'deposited') fail(ErrorCode.ALREADY_CASHED, 'coin already deposited')
    if (this.cfg.now() > r.expiry + graceMs) fail(ErrorCode.EXPIRED, 'coin expired')
    return r
  }

  /**
   * Checks the shown binding against what the broker knows: the request's seq is the latest the broker knows of,
   * or a later one the shown binding proves (the broker adopts it). Two bindings at one seq naming different holders
   * are a FRAUD refusal with the evidence (the holder's, or the owner's).
   */
  private knownHolder(r: CoinRecord, s: ShownCoin): void {
    const seq = s.request.body.seq
    if (seq < r.seq) fail(ErrorCode.STALE_SEQ, `the broker knows this coin at seq ${r.seq}, the request is at ${seq}`)
    if (seq > r.seq || s.binding === undefined || r.binding === undefined) return
    if (s.binding.hash === sha256Hex(decodeSigned(r.binding, 'binding', LIMITS.bindingB64))) return
    if (s.binding.holder === r.holder) return
    const mine = openBinding(this.verifier, r.binding, s.cert, 'whopay-deposit')
    this.bindingConflict(s.cert, mine, s.binding, s.request.tag === TAG.deposit)
  }

  /** The broker's binding `x` and the shown `y` at one seq: the loser's deposit is compensated after conviction. */
  private bindingConflict(cert: CoinCert, x: CoinBinding, y: CoinBinding, compensate: boolean): never {
    const evidence = holderEvidenceOf(cert, x, y)
    if (evidence !== undefined) fail(ErrorCode.FRAUD, 'two bindings answer one key twice', { evidence, compensate })
    if (x.by === 'owner' && y.by === 'owner') {
      const ownerEvidence: OwnerEvidence = { cert: cert.b64, a: x.b64, b: y.b64 }
      fail(ErrorCode.FRAUD, 'the owner bound one seq to two holders', { ownerEvidence, compensate })
    }
    fail(ErrorCode.WRONG_HOLDER, 'the binding shown contradicts the one this broker holds')
  }

  private seen(s: ShownCoin, binding?: string): SeenRequest {
    const q = s.request
    return {
      tag: q.tag,
      to: destinationOf(q.body),
      env: toB64(q.env),
      group: toB64(q.group),
      ...(binding !== undefined ? { binding } : {})
    }
  }

  /** A repeat of a request already answered gets the same answer. */
  private answered<T>(s: ShownCoin): T | undefined {
    return this.t.answers.get(s.request.hash) as T | undefined
  }

  /**
   * The downtime path: the owner is offline, the holder at seq s asks the broker to pass the coin on. The broker
   * signs the binding at seq s + 1 to the request's new key and keeps it; the owner adopts it when it next syncs.
   */
  downtimeTransfer(s: ShownCoin): TransferResult {
    if (s.request.tag !== TAG.transfer) fail(ErrorCode.WRONG_TAG, 'the downtime path takes a transfer')
    const again = this.answered<TransferResult>(s)
    if (again !== undefined) return again
    const r = this.spendable(s, 0)
    const b = signAnswer(this.signer, 'broker', s.cert, s.request, 'whopay-transfer')
    const out: TransferResult = { coin: r.coin, binding: b.b64 }
    this.rememberShown(s)
    this.t.requests.set(reqKey(r.coin, r.gen, s.request.body.seq), this.seen(s, b.b64))
    this.t.coins.set(r.coin, { ...r, seq: b.seq, holder: b.holder, binding: b.b64 })
    this.t.answers.set(s.request.hash, out)
    return out
  }

  private spentEnvelope(s: ShownCoin, how: SpentBody['how']): string {
    const q = s.request.body
    const body: SpentBody = {
      coin: q.coin,
      gen: q.gen,
      seq: q.seq,
      how,
      request: toB64(s.request.env),
      group: toB64(s.request.group)
    }
    return toB64(
      this.signer.sign<SpentBody>(TAG.spent, body, how === 'deposit' ? 'whopay-deposit' : 'whopay-renew').bytes
    )
  }

  /**
   * A deposit by the holder at seq s: credits the purse the request names with the coin's value, once per coin.
   * A second, different spend at a seq the broker has a request for is refused FRAUD with the evidence; when the
   * depositor's own chain is the one that lost (its binding answers a request that conflicts with the deposited
   * one), `compensate` is true: after conviction the depositor is paid from the cheater (see `convict`).
   */
  deposit(s: ShownCoin): DepositResult {
    if (s.request.tag !== TAG.deposit) fail(ErrorCode.WRONG_TAG, 'a deposit takes a deposit request')
    const again = this.answered<DepositResult>(s)
    if (again !== undefined) return again
    const r = this.spendable(s, this.cfg.depositGraceMs)
    const purse = destinationOf(s.request.body)
    const spent = this.spentEnvelope(s, 'deposit')
    // at seq 0 the holder is the owner the certificate names: crediting a purse would link it to the owner's id
    const own = s.request.body.seq === 0
    const out: DepositResult = {
      coin: r.coin,
      purse,
      ...(own ? { account: r.owner } : {}),
      value: r.value,
      spent,
      from: 'coin'
    }
    if (own) {
      this.books.credit(r.owner, r.value)
      this.books.bump({ redeemed: r.value })
    } else {
      this.books.creditPurse(purse, r.value)
      this.books.bump({ deposited: r.value })
    }
    this.rememberShown(s)
    this.t.requests.set(reqKey(r.coin, r.gen, s.request.body.seq), this.seen(s))
    this.t.coins.set(r.coin, {
      ...r,
      seq: s.request.body.seq,
      holder: s.request.holder,
      ...(s.binding !== undefined ? { binding: s.binding.b64 } : {}),
      state: 'deposited',
      spent: { ...r.spent, [String(r.gen)]: spent }
    })
    this.t.answers.set(s.request.hash, out)
    return out
  }

  /** The shown binding answers a request that conflicts with one the broker holds at its seq: the chain lost. */
  private lostChain(s: ShownCoin): void {
    const a = s.binding?.answered
    if (a === undefined || s.binding === undefined) return
    const seen = this.t.requests.get(reqKey(a.body.coin, a.body.gen, a.body.seq))
    if (seen == null || seen.env === toB64(a.env)) return
    const other = this.openSeen(seen)
    if (other.holder !== a.holder || !conflicts(other, a)) return
    const cert = a.body.gen === s.cert.gen ? s.cert : this.certAt(this.coin(s.cert.coin), a.body.gen)
    const evidence: Evidence = { cert: cert.b64, a: { env: seen.env, group: seen.group }, b: answeredOf(s.binding)! }
    fail(ErrorCode.FRAUD, `the chain shown lost: its seq ${a.body.seq} holder also spent the coin`, {
      evidence,
      compensate: s.request.tag === TAG.deposit
    })
  }

  /** Remembers the request the shown binding answers, so a later spend that conflicts with it is caught. */
  private rememberShown(s: ShownCoin): void {
    const a = s.binding?.answered
    if (a === undefined || s.binding === undefined) return
    const k = reqKey(a.body.coin, a.body.gen, a.body.seq)
    if (this.t.requests.has(k)) return
    const seen: SeenRequest = { tag: a.tag, to: destinationOf(a.body), env: toB64(a.env), group: toB64(a.group) }
    this.t.requests.set(k, { ...seen, binding: s.binding.b64 })
  }

  /**
   * A renewal by the holder at seq s: a new certificate (gen + 1, later expiry, same coin key and owner) and the
   * broker's binding of the new generation at seq s + 1 to the request's fresh key. The old generation is spent.
   */
  renew(s: ShownCoin): RenewResult {
    if (s.request.tag !== TAG.renew) fail(ErrorCode.WRONG_TAG, 'a renewal takes a renew request')
    const again = this.answered<RenewResult>(s)
    if (again !== undefined) return again
    const r = this.spendable(s, this.cfg.depositGraceMs)
    if (r.gen + 1 > LIMITS.maxGen) fail(ErrorCode.BAD_REQUEST, 'coin renewed too often')
    const cert = signCoinCert(
      this.signer,
      {
        coin: r.coin,
        owner: r.owner,
        value: r.value,
        expiry: this.cfg.now() + this.cfg.coinTtlMs,
        serial: r.serial,
        gen: r.gen + 1
      },
      'whopay-renew'
    )
    const b = signAnswer(this.signer, 'broker', cert, s.request, 'whopay-renew')
    const spent = this.spentEnvelope(s, 'renew')
    const out: RenewResult = { coin: r.coin, cert: cert.b64, binding: b.b64, spent }
    this.rememberShown(s)
    this.t.requests.set(reqKey(r.coin, r.gen, s.request.body.seq), this.seen(s, b.b64))
    this.t.coins.set(r.coin, {
      ...r,
      gen: cert.gen,
      expiry: cert.expiry,
      cert: cert.b64,
      certs: { ...r.certs, [String(cert.gen)]: cert.b64 },
      seq: b.seq,
      holder: b.holder,
      binding: b.b64,
      spent: { ...r.spent, [String(r.gen)]: spent }
    })
    this.t.answers.set(s.request.hash, out)
    return out
  }

  /** What the broker learns of a coin from the DHT or a report: a binding of one of its coins (ledger-learn.ts). */
  adoptBinding(b64: unknown): Adopted {
    return adoptBindingIn(this.ctx(), b64)
  }

  /**
   * Convicts `cheater` of a checked double spend or owner double assignment, once per case, and pays the honest
   * deposit whose chain lost (see ledger-fraud.ts).
   */
  convict(input: ConvictInput): FraudRecord {
    return convictCase(this.ctx(), input)
  }

  /** Moves purse money to the account the purse key names (see ledger-purse.ts). */
  withdraw(b64: unknown): WithdrawResult {
    return withdrawFrom(this.ctx(), b64)
  }

  private ctx(): LedgerState {
    return {
      t: this.t,
      books: this.books,
      broker: this.broker,
      verifier: this.verifier,
      now: this.cfg.now,
      signConviction: body => toB64(this.signer.sign<ConvictionBody>(TAG.conviction, body, 'whopay-open').bytes)
    }
  }

  /** The broker's `whopay/spent` envelope of a coin's generation (base64), once it was deposited or renewed. */
  spentRecord(coin: string, gen?: number): string | undefined {
    const r = this.coin(coin)
    const g = gen ?? (r.state === 'deposited' ? r.gen : r.gen - 1)
    return r.spent[String(g)]
  }

  audit(): LedgerAudit {
    return this.books.audit()
  }
}
