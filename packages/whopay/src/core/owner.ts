// The owner's book: the coins a node bought, who holds each at which seq, and every binding it signed with the
// request it answered. The owner signs one binding per seq: a second request by the holder at a seq it already
// answered elsewhere is refused FRAUD with the evidence (the two requests), so the owner itself never double
// assigns. Pure and synchronous over one table; the service verifies each request's group signature first and
// checks and publishes the DHT state around `transfer`.
import { ErrorCode, decodeSigned, fail, fromB64, toB64, type Signer, type Table, type Verifier } from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import {
  openBinding,
  openCoinCert,
  signAnswer,
  signIssue,
  type CoinBinding,
  type CoinCert,
  type ShownCoin
} from './coin.ts'
import { conflicts, type Evidence } from './evidence.ts'
import { coinKeyFromSeed, openHolder } from './holder.ts'
import { HOLDER_TAGS, LIMITS, TAG, type HolderSigned } from './messages.ts'

/** A request the owner answered at a seq, and the binding it signed for it. */
export interface OwnerAnswer extends HolderSigned {
  /** the binding signed (base64) */
  binding: string
}

export interface OwnerCoin {
  coin: string
  /** the coin key's seed, base64: the owner holds the coin at seq 0 */
  seed: string
  /** the current certificate, base64 */
  cert: string
  gen: number
  value: number
  expiry: number
  /** the newest seq the owner knows a holder at, this gen (0: itself) */
  seq: number
  holder: string
  /** the binding naming `holder` at `seq` (none at seq 0) */
  binding?: string
  /** gen|seq -> the request answered there (by the owner, or by the broker as learnt) */
  answered: Record<string, OwnerAnswer>
  /** the seq-1 binding, once the owner issued the coin */
  issued?: string
}

export interface OwnerTables {
  coins: Table<OwnerCoin>
}

const at = (gen: number, seq: number): string => `${gen}|${seq}`

export class OwnerBook {
  readonly t: OwnerTables
  private readonly signer: Signer<WhopayKind>
  private readonly verifier: Verifier<WhopayKind>
  private readonly broker: string
  private readonly now: () => number

  constructor(
    t: OwnerTables,
    signer: Signer<WhopayKind>,
    verifier: Verifier<WhopayKind>,
    broker: string,
    now: () => number
  ) {
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.broker = broker
    this.now = now
  }

  coin(coin: string): OwnerCoin {
    const r = this.t.coins.get(coin)
    if (r == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node did not buy this coin')
    return r
  }

  private certOf(r: OwnerCoin): CoinCert {
    return openCoinCert(this.verifier, r.cert, { broker: this.broker }, 'whopay-transfer')
  }

  /** Books a coin the broker sold this node: the certificate of the coin key whose seed it made. */
  add(certB64: unknown, seed: Uint8Array): OwnerCoin {
    const cert = openCoinCert(this.verifier, certB64, { broker: this.broker }, 'whopay-purchase')
    if (cert.owner !== this.signer.peerId) fail(ErrorCode.WRONG_OWNER, 'the certificate names another owner')
    if (coinKeyFromSeed(seed).id !== cert.coin) fail(ErrorCode.BAD_REQUEST, 'the seed is not of the certified key')
    const known = this.t.coins.get(cert.coin)
    if (known != null) return known
    const r: OwnerCoin = {
      coin: cert.coin,
      seed: toB64(seed),
      cert: cert.b64,
      gen: cert.gen,
      value: cert.value,
      expiry: cert.expiry,
      seq: 0,
      holder: cert.coin,
      answered: {}
    }
    this.t.coins.set(r.coin, r)
    return r
  }

  /** The owner's issue of its coin to `toKey` (seq 1): once; the same key again gets the same binding. */
  issue(coin: string, toKey: string): CoinBinding {
    const r = this.coin(coin)
    const cert = this.certOf(r)
    if (r.issued !== undefined) {
      const b = openBinding(this.verifier, r.issued, cert, 'whopay-issue')
      if (b.holder === toKey) return b
      fail(WhopayErrorCode.COIN_SPENT, 'this coin was issued to another key')
    }
    if (r.gen !== 0 || r.seq !== 0) fail(WhopayErrorCode.COIN_SPENT, 'this coin left its owner already')
    if (this.now() >= r.expiry) fail(ErrorCode.EXPIRED, 'coin expired')
    const b = signIssue(this.signer, cert, toKey)
    this.t.coins.set(coin, { ...r, seq: 1, holder: toKey, binding: b.b64, issued: b.b64 })
    return b
  }

  /**
   * Answers the transfer of the holder at seq s (opened, its group signature verified): the binding at s + 1.
   * The same request again gets the same binding; another request at a seq already answered is FRAUD with the
   * evidence when it sends the coin elsewhere; an older seq is STALE_SEQ; a newer one the holder proves with a
   * binding (the broker's, from the downtime path) is adopted first.
   */
  transfer(s: ShownCoin): CoinBinding {
    if (s.request.tag !== TAG.transfer) fail(ErrorCode.WRONG_TAG, 'the owner answers transfers')
    const r = this.coin(s.cert.coin)
    const cert = this.certOf(r)
    if (s.cert.gen !== r.gen)
      fail(WhopayErrorCode.WRONG_GEN, `the owner knows generation ${r.gen}, the request is at ${s.cert.gen}`)
    const q = s.request.body
    const prev = r.answered[at(q.gen, q.seq)]
    if (prev !== undefined) return this.again(cert, s, prev)
    if (q.seq < r.seq)
      fail(ErrorCode.STALE_SEQ, `the owner knows this coin at seq ${r.seq}, the request is at ${q.seq}`)
    if (q.seq === r.seq && s.binding !== undefined && s.binding.holder !== r.holder)
      fail(ErrorCode.WRONG_HOLDER, 'the binding shown names another holder than the owner knows at this seq')
    if (this.now() >= r.expiry) fail(ErrorCode.EXPIRED, 'coin expired: renew it at the broker')
    if (q.seq > r.seq && s.binding !== undefined) {
      // a later holder than the owner knows: the broker's binding from the downtime path, learnt now
      const learnt = this.adopt(s.binding.b64)
      if (learnt.evidence !== undefined)
        fail(ErrorCode.FRAUD, 'the binding shown answers a double spend', { evidence: learnt.evidence })
      return this.transfer(s)
    }
    const b = signAnswer(this.signer, 'owner', cert, s.request, 'whopay-transfer')
    const answer: OwnerAnswer = { env: toB64(s.request.env), group: toB64(s.request.group), binding: b.b64 }
    this.t.coins.set(r.coin, {
      ...r,
      seq: b.seq,
      holder: b.holder,
      binding: b.b64,
      answered: { ...r.answered, [at(q.gen, q.seq)]: answer }
    })
    return b
  }

  /** A request at a seq the owner answered: the same spend gets the same binding, another is FRAUD. */
  private again(cert: CoinCert, s: ShownCoin, prev: OwnerAnswer): CoinBinding {
    const mine = openHolder(this.verifier, { env: prev.env, group: prev.group }, HOLDER_TAGS, 'whopay-transfer')
    // the same spend signed again (another time): the binding already made for it
    if (mine.holder === s.request.holder && !conflicts(mine, s.request))
      return openBinding(this.verifier, prev.binding, cert, 'whopay-transfer')
    if (mine.holder !== s.request.holder)
      fail(ErrorCode.WRONG_HOLDER, 'another key held the coin at this seq: the request is not by its holder')
    const evidence: Evidence = {
      cert: cert.b64,
      a: { env: prev.env, group: prev.group },
      b: { env: toB64(s.request.env), group: toB64(s.request.group) },
      ...(s.binding !== undefined ? { bindings: [s.binding.b64] } : {})
    }
    fail(ErrorCode.FRAUD, `the holder at seq ${s.request.body.seq} spent this coin twice`, { evidence })
  }

  /**
   * Adopts a binding the broker signed for this coin (the downtime path; a renewal with its new certificate),
   * or a broker `spent` record's request: what the owner learns when it syncs. A binding at a seq the owner
   * answered differently comes back as evidence and changes nothing.
   */
  adopt(bindingB64: unknown, newCert?: unknown): { advanced: boolean; evidence?: Evidence } {
    const bytes = decodeSigned(bindingB64, 'binding', LIMITS.bindingB64)
    const peek = this.verifier.open<{ coin?: unknown }>(bytes, TAG.binding, 'whopay-transfer')
    const r = this.coin(typeof peek.body.coin === 'string' ? peek.body.coin : '')
    let cert = this.certOf(r)
    if (newCert !== undefined) {
      cert = openCoinCert(this.verifier, newCert, { broker: this.broker }, 'whopay-renew')
      if (cert.coin !== r.coin || cert.owner !== this.signer.peerId)
        fail(ErrorCode.BAD_REQUEST, 'the new certificate is of another coin')
      if (cert.gen !== r.gen + 1 && cert.gen !== r.gen)
        fail(WhopayErrorCode.WRONG_GEN, 'a renewal certificate is of the next generation')
    }
    const b = openBinding(this.verifier, bindingB64, cert, 'whopay-transfer')
    if (b.by !== 'broker' && b.signer !== this.signer.peerId) fail(ErrorCode.WRONG_SIGNER, 'not a binding of this coin')
    const a = b.answered
    const answered = { ...r.answered }
    if (a !== undefined) {
      const k = at(a.body.gen, a.body.seq)
      const prev = answered[k]
      if (prev !== undefined && prev.env !== toB64(a.env)) {
        const mine = openHolder(this.verifier, { env: prev.env, group: prev.group }, HOLDER_TAGS, 'whopay-transfer')
        if (mine.holder === a.holder && conflicts(mine, a)) {
          const oldCert = a.body.gen === r.gen ? this.certOf(r) : cert
          const evidence: Evidence = {
            cert: oldCert.b64,
            a: { env: prev.env, group: prev.group },
            b: { env: toB64(a.env), group: toB64(a.group) }
          }
          return { advanced: false, evidence }
        }
      }
      if (prev === undefined) answered[k] = { env: toB64(a.env), group: toB64(a.group), binding: b.b64 }
    }
    const newer = b.gen > r.gen || (b.gen === r.gen && b.seq > r.seq)
    if (!newer) {
      if (a !== undefined && answered[at(a.body.gen, a.body.seq)] !== r.answered[at(a.body.gen, a.body.seq)])
        this.t.coins.set(r.coin, { ...r, answered })
      return { advanced: false }
    }
    this.t.coins.set(r.coin, {
      ...r,
      cert: cert.b64,
      gen: cert.gen,
      expiry: cert.expiry,
      seq: b.seq,
      holder: b.holder,
      binding: b.b64,
      answered
    })
    return { advanced: true }
  }

  /** The coin key's seed: the owner spends its coin at seq 0 with it (a deposit or renewal of its own). */
  seed(coin: string): Uint8Array {
    return fromB64(this.coin(coin).seed)
  }
}
