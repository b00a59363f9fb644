// The holder's and payee's side of a node: fresh keys it invoiced (kept until a coin arrives on them), coins it
// holds (the holding key's seed, the certificate, the binding naming the key), the requests it signs with them,
// and its purse key. Pure and synchronous over three tables; the service makes the group signatures, checks the
// DHT state before it accepts a coin, and talks to the owner, payees and broker from fresh identities.
import {
  ErrorCode,
  checkAddrs,
  fail,
  fromB64,
  randomId,
  toB64,
  type Counters,
  type Ed25519Backend,
  type Table,
  type Verifier
} from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { openCoinCert, openDelivered, type CoinBinding } from './coin.ts'
import { coinKeyFromSeed, coinSigner, newCoinKey, signHolderEnvelope, type HolderEnvelope } from './holder.ts'
import { TAG, isValue, type HolderBody, type HolderSigned, type HolderTag, type WithdrawBody } from './messages.ts'

/** A fresh key handed out to be paid on (or to take a renewed coin). */
export interface WalletInvoice {
  key: string
  seed: string
  value: number
  at: number
  /** the coin that arrived on it */
  coin?: string
}

export interface WalletHeld {
  /** the holding key id */
  key: string
  seed: string
  coin: string
  value: number
  cert: string
  gen: number
  expiry: number
  seq: number
  binding: string
  /** spending: a request is signed and not yet answered (a retry sends `request` again) */
  status: 'held' | 'spending' | 'spent' | 'deposited' | 'renewed'
  request?: HolderSigned
  at: number
  /** where the coin's owner listens, as its payer said: the transfer request goes there, no lookup needed */
  ownerAddrs?: string[]
}

export interface WalletPurse {
  key: string
  seed: string
}

export interface WalletTables {
  invoices: Table<WalletInvoice>
  held: Table<WalletHeld>
  purse: Table<WalletPurse>
}

export class Wallet {
  readonly t: WalletTables
  private readonly verifier: Verifier<WhopayKind>
  private readonly backend: Ed25519Backend
  private readonly metrics?: Counters
  private readonly broker: string
  private readonly now: () => number

  constructor(
    t: WalletTables,
    deps: {
      verifier: Verifier<WhopayKind>
      backend: Ed25519Backend
      broker: string
      now: () => number
      metrics?: Counters
    }
  ) {
    this.t = t
    this.verifier = deps.verifier
    this.backend = deps.backend
    this.broker = deps.broker
    this.now = deps.now
    this.metrics = deps.metrics
  }

  /**
   * A fresh key to be paid `value` on; its seed is kept (the service writes it before it answers). With `maxOpen`,
   * past that many invoices not paid yet it is refused BUSY: no seed is ever dropped to make room (a coin may be
   * bound to it already, on its way).
   */
  invoice(value: unknown, maxOpen?: number): WalletInvoice {
    if (!isValue(value)) fail(ErrorCode.BAD_REQUEST, 'an invoice is for a positive whole amount')
    if (maxOpen !== undefined && this.t.invoices.size >= maxOpen && this.openInvoices() >= maxOpen)
      fail(ErrorCode.BUSY, `${maxOpen} invoices are waiting for their coins: try later`)
    const k = newCoinKey()
    const inv: WalletInvoice = { key: k.id, seed: toB64(k.seed), value, at: this.now() }
    this.t.invoices.set(k.id, inv)
    return inv
  }

  /** Invoices no coin arrived on yet. */
  openInvoices(): number {
    let n = 0
    for (const i of this.t.invoices.values()) if (i.coin == null) n++
    return n
  }

  /**
   * Accepts a coin delivered to an invoiced key: the broker's certificate (unexpired) and a binding by its owner
   * or the broker naming the key, of the invoiced value. The same delivery again is the same coin; another coin
   * on a key already paid is refused.
   */
  accept(certB64: unknown, bindingB64: unknown): WalletHeld {
    const cert = openCoinCert(this.verifier, certB64, { broker: this.broker, now: this.now() }, 'whopay-deliver')
    const b = openDelivered(this.verifier, bindingB64, cert, 'whopay-deliver')
    const inv = this.t.invoices.get(b.holder)
    if (inv == null) fail(WhopayErrorCode.NOT_INVOICED, 'the coin is bound to a key this node never invoiced')
    if (inv.value !== cert.value) fail(WhopayErrorCode.NOT_INVOICED, `invoiced ${inv.value}, the coin is ${cert.value}`)
    const held = this.t.held.get(b.holder)
    if (held != null) {
      if (held.coin === cert.coin && held.binding === b.b64) return held
      fail(WhopayErrorCode.NOT_INVOICED, 'this key was paid already')
    }
    const h: WalletHeld = {
      key: b.holder,
      seed: inv.seed,
      coin: cert.coin,
      value: cert.value,
      cert: cert.b64,
      gen: cert.gen,
      expiry: cert.expiry,
      seq: b.seq,
      binding: b.b64,
      status: 'held',
      at: this.now()
    }
    this.t.held.set(h.key, h)
    this.t.invoices.set(inv.key, { ...inv, coin: cert.coin })
    return h
  }

  held(key: string): WalletHeld {
    const h = this.t.held.get(key)
    if (h == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node holds no coin under this key')
    return h
  }

  /**
   * Coins held and free to spend, oldest first; with `validFor` (ms) only those whose certificate is still valid
   * that long from now (a coin picked for a payment must reach the payee unexpired).
   */
  spendable(validFor?: number): WalletHeld[] {
    const now = this.now()
    return [...this.t.held.values()]
      .filter(h => h.status === 'held' && (validFor == null || h.expiry > now + validFor))
      .sort((a, b) => a.at - b.at)
  }

  /**
   * Signs a request with the holding key of `key`: a transfer to `dest` (the payee's invoiced key), a deposit to
   * `dest` (the purse), a renewal to `dest` (a fresh key of this wallet's, see `renewalKey`). Changes nothing:
   * the caller group-signs `digest` and records the request with `spending` before it sends it.
   */
  request(key: string, tag: HolderTag, dest: string): HolderEnvelope {
    const h = this.held(key)
    if (h.status !== 'held') fail(WhopayErrorCode.COIN_SPENT, `this coin is ${h.status}`)
    const body: HolderBody =
      tag === TAG.deposit
        ? { coin: h.coin, gen: h.gen, seq: h.seq, purse: dest, at: this.now() }
        : { coin: h.coin, gen: h.gen, seq: h.seq, to: dest, at: this.now() }
    const kind: WhopayKind =
      tag === TAG.deposit ? 'whopay-deposit' : tag === TAG.renew ? 'whopay-renew' : 'whopay-transfer'
    return signHolderEnvelope(coinSigner(fromB64(h.seed), this.backend, this.metrics), tag, body, kind)
  }

  /** Records a signed request before it leaves: the coin is spent from here on; a retry sends the same bytes. */
  spending(key: string, signed: HolderSigned): WalletHeld {
    const h = this.held(key)
    if (h.status === 'spending' && h.request?.env === signed.env && h.request.group === signed.group) return h
    if (h.status !== 'held') fail(WhopayErrorCode.COIN_SPENT, `this coin is ${h.status}`)
    const next: WalletHeld = { ...h, status: 'spending', request: signed }
    this.t.held.set(key, next)
    return next
  }

  /** The answer came: the coin went to a payee (`spent`) or into the purse (`deposited`). */
  settled(key: string, how: 'spent' | 'deposited'): WalletHeld {
    const h = this.held(key)
    if (h.status === how) return h
    if (h.status !== 'spending') fail(ErrorCode.BAD_REQUEST, `this coin is ${h.status}, not spending`)
    const next: WalletHeld = { ...h, status: how }
    this.t.held.set(key, next)
    return next
  }

  /**
   * Checks the binding an owner (or the broker) gave for the transfer this wallet signed under `key`, before it is
   * kept and delivered: signed by the coin's owner (or the broker), of this coin and gen, at the next seq, naming
   * `holder` (the payee's invoiced key), answering exactly the request this wallet sent. A bad one is refused
   * (the caller asks the broker instead); nothing changes either way. Counted under `kind`.
   */
  checkAnswer(key: string, bindingB64: unknown, holder: string, kind: WhopayKind): CoinBinding {
    const h = this.held(key)
    if (h.status !== 'spending' || h.request == null) fail(ErrorCode.BAD_REQUEST, `this coin is ${h.status}`)
    const cert = openCoinCert(this.verifier, h.cert, { broker: this.broker }, kind)
    const b = openDelivered(this.verifier, bindingB64, cert, kind)
    if (b.holder !== holder) fail(ErrorCode.WRONG_HOLDER, "the binding does not name the payee's key")
    if (b.seq !== h.seq + 1) fail(ErrorCode.STALE_SEQ, `the binding is at seq ${b.seq}, not ${h.seq + 1}`)
    if (b.request !== h.request.env || b.group !== h.request.group)
      fail(ErrorCode.BAD_REQUEST, 'the binding answers another request than the one sent')
    return b
  }

  /**
   * Keeps where the owner of the coin held under `key` listens (multiaddrs its payer sent with the delivery), so
   * this node's transfer reaches the owner with no lookup under its long-term id. A bad list is left out (a hint
   * never costs the coin it came with): the owner is then looked up.
   */
  ownerAt(key: string, addrsIn: unknown): WalletHeld {
    const h = this.held(key)
    let addrs: string[]
    try {
      addrs = checkAddrs(addrsIn, 'owner').map(a => (a.includes('/p2p/') ? a.slice(0, a.indexOf('/p2p/')) : a))
    } catch {
      return h
    }
    if (addrs.length === 0) return h
    const next: WalletHeld = { ...h, ownerAddrs: addrs }
    this.t.held.set(key, next)
    return next
  }

  /**
   * A spend that ended with no binding of the coin to anyone else (refused, or given up): the coin is held again
   * under its key and the request it signed is dropped. Only the spend of exactly `request` is undone.
   */
  unspend(key: string, request: HolderSigned): WalletHeld {
    const h = this.held(key)
    if (h.status === 'held') return h
    if (h.status !== 'spending' || h.request?.env !== request.env || h.request.group !== request.group)
      fail(ErrorCode.BAD_REQUEST, `this coin is ${h.status} by another request`)
    const { request: _dropped, ...rest } = h
    const next: WalletHeld = { ...rest, status: 'held' }
    this.t.held.set(key, next)
    return next
  }

  /** A fresh key to renew a coin onto: an invoice of the coin's value, so the renewed coin is accepted onto it. */
  renewalKey(key: string): WalletInvoice {
    return this.invoice(this.held(key).value)
  }

  /** The broker renewed the coin held under `key`: the new certificate and binding to the fresh key are held. */
  renewed(key: string, certB64: unknown, bindingB64: unknown): WalletHeld {
    const old = this.held(key)
    if (old.status !== 'spending' && old.status !== 'renewed') fail(ErrorCode.BAD_REQUEST, 'no renewal under way')
    const h = this.accept(certB64, bindingB64)
    if (h.coin !== old.coin || h.gen !== old.gen + 1) fail(WhopayErrorCode.WRONG_GEN, 'not the renewal of this coin')
    this.t.held.set(key, { ...old, status: 'renewed' })
    // same coin, same owner: where it listens carries over
    if (old.ownerAddrs == null) return h
    const kept: WalletHeld = { ...h, ownerAddrs: old.ownerAddrs }
    this.t.held.set(kept.key, kept)
    return kept
  }

  /** This node's purse key: made on first use, one per node. */
  purse(): WalletPurse {
    const p = this.t.purse.get('purse')
    if (p != null) return p
    const k = newCoinKey()
    const made: WalletPurse = { key: k.id, seed: toB64(k.seed) }
    this.t.purse.set('purse', made)
    return made
  }

  /** A withdrawal of `amount` from the purse to `account`, signed by the purse key (base64 envelope). */
  withdrawal(account: string, amount: number, nonce: string = randomId(12)): string {
    const p = this.purse()
    const key = coinKeyFromSeed(fromB64(p.seed))
    const body: WithdrawBody = { purse: p.key, account, amount, nonce }
    return toB64(coinSigner(key, this.backend, this.metrics).sign(TAG.withdraw, body, 'whopay-deposit').bytes)
  }
}
