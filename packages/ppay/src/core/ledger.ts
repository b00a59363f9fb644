// The broker's PPay ledger: a pure, synchronous state machine over in-memory
// tables. The service runs each call inside `store.apply`, so a call either
// leaves no trace (it threw) or is one atomic LevelDB batch.
//
// Fraud detection works on "transfers": every signed object by which a holder
// gives its position away (first assignment, reassignment request, layer, cash
// request). One position given away twice, to different receivers, by the same
// signer convicts that signer with its own two signatures. Two owner-signed
// assignments with one seq and different holders convict the owner.
import { PPayErrorCode } from '../errors.ts'
import {
  ErrorCode,
  MAX_MONEY,
  addMoney,
  fail,
  fromB64,
  isMoney,
  keyOfPeerId,
  randomId,
  sha256Hex,
  sumMoney,
  toB64,
  utf8,
  P2payError,
  type Signer,
  type Verifier
} from '@p2pay/core'
import {
  TAG,
  BROKER_SINK,
  posKey,
  type AssignBody,
  type BuyBody,
  type CoinBody,
  type CoinProof,
  type FraudKind,
  type FraudProof,
  type Transfer
} from './types.ts'
import { decodeEnvelope, verifyCash, verifyProof, verifyRequest, type ProofInfo } from './verify.ts'

import type { CashResult, DowntimeEntry, DowntimeResult, LedgerConfig, LedgerTables, Meta } from './ledger-records.ts'

const pad = (n: number): string => String(n).padStart(12, '0')
const evidenceKey = (sn: string, t: { pos: string; signer: string }): string => `${sn}|${t.pos}|${t.signer}`

export class Ledger {
  readonly t: LedgerTables
  private readonly signer: Signer
  private readonly verifier: Verifier
  readonly cfg: LedgerConfig

  constructor(t: LedgerTables, signer: Signer, verifier: Verifier, cfg: LedgerConfig) {
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
  }

  get broker(): string {
    return this.signer.peerId
  }

  private meta(): Meta {
    return this.t.meta.get('meta') ?? { toppedUp: 0, downtime: {} }
  }

  balance(account: string): number {
    return this.t.accounts.get(account)?.balance ?? 0
  }

  private credit(account: string, delta: number): void {
    this.t.accounts.set(account, { balance: addMoney(this.balance(account), delta, `balance of ${account}`) })
  }

  /**
   * Money entering from outside (the stand-in for a real payment rail). The
   * money topped up in all stays within MAX_MONEY: every balance and unpaid
   * coin is part of it, so none can pass the bound either.
   */
  topup(account: string, amount: number): { account: string; balance: number } {
    if (typeof account !== 'string' || account.length === 0 || account.length > 128)
      fail(ErrorCode.BAD_REQUEST, 'account must be a peer id')
    keyOfPeerId(account) // an account nobody can sign for could never spend: refuse it
    if (!isMoney(amount) || amount === 0)
      fail(ErrorCode.BAD_REQUEST, `amount must be an integer 1..${MAX_MONEY}`, { limit: MAX_MONEY })
    const m = this.meta()
    // both sums are checked before either is written: a refusal changes nothing
    const toppedUp = addMoney(m.toppedUp, amount, 'the money topped up')
    const balance = addMoney(this.balance(account), amount, `balance of ${account}`)
    this.t.meta.set('meta', { ...m, toppedUp })
    this.t.accounts.set(account, { balance })
    return { account, balance }
  }

  /** Sells raw coins against the account balance; a repeated nonce returns the same coins. */
  buy(b64: unknown): { coins: string[] } {
    const env = this.verifier.open<BuyBody>(decodeEnvelope(b64, 'buy request'), TAG.buy, 'buy')
    const b = env.body
    if (b.broker !== this.broker) fail(ErrorCode.WRONG_BROKER, 'buy request is for another broker')
    if (env.signer !== b.account) fail(ErrorCode.WRONG_SIGNER, 'buy request must be signed by the account holder')
    if (!Number.isSafeInteger(b.count) || b.count < 1 || b.count > this.cfg.maxCoinsPerBuy)
      fail(ErrorCode.BAD_REQUEST, `count must be 1..${this.cfg.maxCoinsPerBuy}`)
    if (!Number.isSafeInteger(b.value) || b.value < 1 || b.value > 1e12)
      fail(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
    if (typeof b.nonce !== 'string' || b.nonce.length < 8 || b.nonce.length > 64)
      fail(ErrorCode.BAD_REQUEST, 'nonce must be 8..64 characters')
    const key = `${b.account}|${b.nonce}`
    const done = this.t.buys.get(key)
    if (done != null) {
      if (done.hash !== env.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different purchase')
      return { coins: done.coins }
    }
    const cost = b.count * b.value
    if (this.balance(b.account) < cost)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.balance(b.account)} < cost ${cost}`)
    this.credit(b.account, -cost)
    const expiry = this.cfg.now() + this.cfg.coinTtlMs
    const bodies = Array.from({ length: b.count }, (): CoinBody => {
      return { broker: this.broker, owner: b.account, sn: randomId(16), value: b.value, expiry }
    })
    // one signature for the purchase: each coin is a batch envelope, checkable on its own
    const signed =
      bodies.length === 1
        ? [this.signer.sign<CoinBody>(TAG.coin, bodies[0], 'buy')]
        : this.signer.signBatch<CoinBody>(TAG.coin, bodies, 'buy')
    const coins = signed.map(coin => {
      this.t.coins.set(coin.body.sn, { owner: b.account, value: b.value, expiry, status: 'out' })
      return toB64(coin.bytes)
    })
    this.t.buys.set(key, { hash: env.hash, coins })
    return { coins }
  }

  private fraudId(a: string, b: string): string {
    return sha256Hex(utf8([a, b].sort().join('|')))
  }

  private convict(kind: FraudKind, culprit: string, sn: string, pos: string, a: Transfer, b: Transfer): FraudProof {
    const id = this.fraudId(a.hash, b.hash)
    const existing = this.t.frauds.get(id)
    if (existing != null) return existing
    const proof: FraudProof = {
      id,
      kind,
      culprit,
      sn,
      pos,
      evidence: [a.bytes, b.bytes],
      detectedAt: this.cfg.now(),
      compensated: [],
      unpaid: []
    }
    this.t.frauds.set(id, proof)
    return proof
  }

  /**
   * Records every transfer a proof carries, keyed by (coin, position, signer),
   * and convicts any signer seen giving one position away twice.
   */
  private ingest(info: ProofInfo, extra: Transfer[] = []): FraudProof[] {
    const found = new Map<string, FraudProof>()
    for (const t of [...info.transfers, ...extra]) {
      const key = evidenceKey(info.sn, t)
      const prev = this.t.evidence.get(key)
      if (prev == null) {
        this.t.evidence.set(key, t)
        continue
      }
      // an honest signer never makes two different transfers out of one position
      // (retries resend the same bytes), even to the same receiver; two cash
      // requests for one position (one per copy of a raced reassignment) pay once anyway
      if (prev.hash === t.hash || (prev.to === BROKER_SINK && t.to === BROKER_SINK)) continue
      const kind: FraudKind =
        t.pos === '0.0'
          ? 'owner-double-assign'
          : prev.to === BROKER_SINK || t.to === BROKER_SINK
            ? 'holder-cash-after-spend'
            : 'holder-double-spend'
      const f = this.convict(kind, t.signer, info.sn, t.pos, prev, t)
      found.set(f.id, f)
    }
    return [...found.values()]
  }

  /**
   * The point where a chain left the one the coin paid out on: the first
   * transfer whose (position, signer) the paid chain also has, with another
   * receiver. Its signer gave that position away twice and owes the difference.
   */
  private divergence(info: ProofInfo, paidChain: Record<string, string>): Transfer | undefined {
    return info.transfers.find(t => {
      const h = paidChain[`${t.pos}|${t.signer}`]
      return h != null && h !== t.hash
    })
  }

  private verify(proof: CoinProof, kind: string, allowExpired: boolean): ProofInfo {
    return verifyProof(this.verifier, proof, {
      broker: this.broker,
      now: this.cfg.now(),
      maxLayers: this.cfg.maxLayers,
      allowExpired,
      kind
    })
  }

  /**
   * Cashes the latest holding of a coin into the holder's account. The coin pays
   * once. An honest holder on another branch of a double-spent coin is paid from
   * the account of the culprit where its branch left the paid one, as far as that
   * account reaches (never below zero: a culprit's sybils cannot mint money); a
   * culprit cashing what it gave away is refused and convicted.
   */
  cash(proof: CoinProof, cashB64: unknown): CashResult {
    const info = this.verify(proof, 'cash', true)
    const { cash, transfer } = verifyCash(this.verifier, cashB64, info, this.broker, 'cash')
    const done = this.t.cashes.get(cash.hash)
    if (done != null) return done // a retry after a lost reply gets the first answer
    if (this.cfg.now() > info.expiry + this.cfg.cashGraceMs)
      fail(ErrorCode.EXPIRED, `coin ${info.sn} expired and is past its cashing grace period`)
    const coin = this.t.coins.get(info.sn)
    if (coin == null) fail(PPayErrorCode.NO_SUCH_COIN, `coin ${info.sn} was never issued by this broker`)
    const before = this.t.evidence.get(evidenceKey(info.sn, transfer))
    const frauds = this.ingest(info, [transfer])
    const finish = (r: CashResult): CashResult => {
      this.t.cashes.set(cash.hash, r)
      return r
    }
    const refuse = (code: string, message: string, fraud?: FraudProof): CashResult =>
      finish({ sn: info.sn, status: 'refused', code, message, ...(fraud != null ? { fraud: fraud.id } : {}) })

    // the cashier gave this very holding away before: it is the culprit
    if (before != null && before.to !== BROKER_SINK) {
      return refuse(
        ErrorCode.FRAUD,
        'this holder already gave the coin away; fraud proof recorded',
        frauds.find(f => f.culprit === info.holder)
      )
    }
    const payoutKey = `${info.sn}|${posKey(info)}|${info.holder}`
    if (this.t.payouts.has(payoutKey)) return refuse(ErrorCode.ALREADY_CASHED, 'this holding was already paid')
    if (
      info.seq === 0 &&
      this.t.evidence.get(evidenceKey(info.sn, { pos: '0.0', signer: info.owner }))?.to !== BROKER_SINK
    ) {
      return refuse(
        ErrorCode.FRAUD,
        'the owner assigned this coin before asking for a refund',
        frauds.find(f => f.culprit === info.owner)
      )
    }
    if (coin.status === 'out') {
      const paidChain = Object.fromEntries([...info.transfers, transfer].map(t => [`${t.pos}|${t.signer}`, t.hash]))
      this.t.coins.set(info.sn, { ...coin, status: 'paid', paidTo: info.holder, paidChain })
      this.credit(info.holder, info.value)
      this.t.payouts.set(payoutKey, { value: info.value, from: 'coin' })
      return finish({ sn: info.sn, status: 'paid', value: info.value, holder: info.holder, from: 'coin' })
    }
    const fork = this.divergence(info, coin.paidChain ?? {})
    const onFork =
      fork == null
        ? []
        : [...this.t.frauds.values()].filter(f => f.sn === info.sn && f.pos === fork.pos && f.culprit === fork.signer)
    const fraud = onFork.find(f => f.evidence.includes(fork!.bytes)) ?? onFork[0]
    if (fork == null || fraud == null) return refuse(ErrorCode.ALREADY_CASHED, 'coin already cashed')
    if (fork.signer === info.holder)
      return refuse(ErrorCode.FRAUD, 'this holder gave the coin away twice; fraud proof recorded', fraud)
    const amount = Math.min(info.value, Math.max(0, this.balance(fork.signer)))
    const short = info.value - amount
    this.credit(fork.signer, -amount)
    this.credit(info.holder, amount)
    this.t.frauds.set(fraud.id, {
      ...fraud,
      compensated: amount > 0 ? [...fraud.compensated, { holder: info.holder, value: amount }] : fraud.compensated,
      unpaid: short > 0 ? [...fraud.unpaid, { holder: info.holder, value: short }] : fraud.unpaid
    })
    this.t.payouts.set(payoutKey, { value: amount, from: fork.signer })
    return finish({
      sn: info.sn,
      status: 'paid',
      value: amount,
      holder: info.holder,
      from: 'compensation',
      culprit: fork.signer,
      ...(short > 0 ? { unpaid: short } : {})
    })
  }

  /** The downtime path: the broker reassigns for an offline owner and logs it for the owner's sync. */
  downtimeReassign(proof: CoinProof, requestB64: unknown): DowntimeResult {
    const info = this.verify(proof, 'downtime', true)
    // past expiry only while the coin can still be cashed: the new holder must be able to cash it
    if (this.cfg.now() > info.expiry + this.cfg.cashGraceMs)
      fail(ErrorCode.EXPIRED, `coin ${info.sn} expired and is past its cashing grace period`)
    const { request, transfer } = verifyRequest(this.verifier, requestB64, info, 'downtime')
    const known = this.t.downtimeByRequest.get(request.hash)
    if (known != null) {
      const e = this.t.downtime.get(`${known.owner}|${pad(known.n)}`)!
      return { status: 'ok', assign: e.assign, request: e.request }
    }
    if (this.t.coins.get(info.sn) == null)
      fail(PPayErrorCode.NO_SUCH_COIN, `coin ${info.sn} was never issued by this broker`)
    const before = this.t.evidence.get(evidenceKey(info.sn, transfer))
    const frauds = this.ingest(info, [transfer])
    if (before != null && before.hash !== transfer.hash) {
      const f = frauds.find(x => x.culprit === transfer.signer)
      return {
        status: 'refused',
        code: ErrorCode.FRAUD,
        message: 'this holder already gave the coin away; fraud proof recorded',
        fraud: f?.id
      }
    }
    const r = request.body
    const assign = this.signer.sign<AssignBody>(
      TAG.downtimeAssign,
      { sn: info.sn, coin: info.coin.hash, owner: info.owner, seq: info.seq + 1, holder: r.to, request: request.hash },
      'downtime'
    )
    const m = this.meta()
    const n = (m.downtime[info.owner] ?? 0) + 1
    this.t.meta.set('meta', { ...m, downtime: { ...m.downtime, [info.owner]: n } })
    const entry: DowntimeEntry = {
      n,
      owner: info.owner,
      sn: info.sn,
      assign: toB64(assign.bytes),
      request: requestB64 as string,
      at: this.cfg.now()
    }
    this.t.downtime.set(`${info.owner}|${pad(n)}`, entry)
    this.t.downtimeByRequest.set(request.hash, { owner: info.owner, n })
    return { status: 'ok', assign: entry.assign, request: entry.request }
  }

  /** Entries of an owner's downtime log after `after`, oldest first. */
  downtimeLog(owner: string, after: number, limit = 500): DowntimeEntry[] {
    const out: DowntimeEntry[] = []
    const last = this.meta().downtime[owner] ?? 0
    for (let n = Math.max(0, after) + 1; n <= last && out.length < limit; n++) {
      const e = this.t.downtime.get(`${owner}|${pad(n)}`)
      if (e != null) out.push(e)
    }
    return out
  }

  /** Evidence submitted by anyone (an owner that found a conflict while syncing). */
  report(proof: CoinProof): { frauds: FraudProof[] } {
    const info = this.verify(proof, 'report', true)
    if (this.t.coins.get(info.sn) == null)
      fail(PPayErrorCode.NO_SUCH_COIN, `coin ${info.sn} was never issued by this broker`)
    return { frauds: this.ingest(info) }
  }

  /** Conservation: account balances + value of coins not yet paid out = money topped up. */
  audit(): {
    toppedUp: number
    balances: number
    outstanding: number
    holds: boolean
    accounts: number
    coins: number
    frauds: number
  } {
    const values = [...this.t.accounts.values()].map(a => a.balance)
    const unpaid = [...this.t.coins.values()].filter(c => c.status === 'out').map(c => c.value)
    const sum = (xs: number[]): number => xs.reduce((n, x) => n + x, 0)
    const [balances, outstanding] = [sum(values), sum(unpaid)]
    const toppedUp = this.meta().toppedUp
    // past 2^53 a sum can come out right by rounding: every figure must be a whole amount within MAX_MONEY
    const inRange = isMoney(toppedUp) && sumMoney(values) !== undefined && sumMoney(unpaid) !== undefined
    return {
      toppedUp,
      balances,
      outstanding,
      holds: inRange && balances + outstanding === toppedUp,
      accounts: this.t.accounts.size,
      coins: this.t.coins.size,
      frauds: this.t.frauds.size
    }
  }
}

export function refusal(r: { code: string; message: string; fraud?: string }): P2payError {
  return new P2payError(r.code as any, r.message, r.fraud != null ? { fraud: r.fraud } : undefined)
}

export { fromB64 }
