// A node's AggSign wallet: the holder's side as a pure state machine over
// in-memory tables (the service runs each call inside `store.apply`). It keeps
// the node's BLS key and certificate, mints under it, pays by adding one layer
// (one message, one signature), and accepts coins paid to it after one
// aggregate verification, its certificates opened once and cached by hash.
// Past the layer limit a coin goes back to its minter by the renewal layer:
// the holder signs it (renewLayer), the minter takes the coin back and pays a
// fresh one of the same value to the holder (renew).
import { ErrorCode, fail, fromB64, toB64, type Verifier } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import type { AggsignKind } from '../kinds.ts'
import { generateKey, proveKey } from './bls.ts'
import { certHashOf, openCertificate, type CertInfo } from './certificate.ts'
import { addLayer, addRenewalLayer, coinId, mintCoin, readCoin, tipHash, verifyCoin, type CoinInfo } from './coin.ts'
import { counts, type Counts } from './counts.ts'
import { convict, forkDepth } from './fraud.ts'
import { isValue, type WireCoin } from './messages.ts'
import type { HeldCoin, KnownCert, WalletConfig, WalletKey, WalletTables } from './wallet-records.ts'

/** Certificates a payer may send along with one coin: at most one per holder. */
const MAX_CERTS_PER_COIN = 65

export interface CoinResult {
  id: string
  coin: WireCoin
  counts: Counts
}

export interface RenewResult {
  /** the coin taken back */
  old: string
  /** the fresh coin, paid to the holder by layer 1 */
  id: string
  coin: WireCoin
  value: number
  /** the same renewal was answered before: this is that answer */
  duplicate: boolean
  counts: Counts
}

export class Wallet {
  readonly t: WalletTables
  readonly cfg: WalletConfig
  /** this node's peer id: certificates and layers must name it */
  readonly peer: string
  private readonly verifier: Verifier<AggsignKind>

  constructor(t: WalletTables, peer: string, verifier: Verifier<AggsignKind>, cfg: WalletConfig) {
    this.t = t
    this.peer = peer
    this.verifier = verifier
    this.cfg = cfg
  }

  /** This node's key, made from the CSPRNG on first use. */
  key(): WalletKey {
    const k = this.t.key.get('key')
    if (k != null) return k
    const { secretKey, publicKey } = generateKey()
    const made: WalletKey = { sk: toB64(secretKey), pk: toB64(publicKey), nextSerial: 0, minted: 0 }
    this.t.key.set('key', made)
    return made
  }

  /** What the broker's certify takes: this node's key and its proof of possession, bound to this peer. */
  certRequest(
    limit: number,
    expiry: number
  ): { peer: string; key: string; pop: string; limit: number; expiry: number } {
    const k = this.key()
    return { peer: this.peer, key: k.pk, pop: toB64(proveKey(fromB64(k.sk), this.peer)), limit, expiry }
  }

  /** Keeps the certificate the broker returned, which must bind this node's key to this peer. */
  addCertificate(b64: unknown): CertInfo {
    const k = this.key()
    const c = openCertificate(this.verifier, b64, this.cfg.broker, 'aggsign-certify')
    if (c.peer !== this.peer || c.key !== k.pk) fail(ErrorCode.WRONG_OWNER, "the certificate is not of this node's key")
    if (k.certHash != null && k.certHash !== c.hash) fail(ErrorCode.REPLAY, 'this key already has another certificate')
    this.t.key.set('key', { ...k, cert: b64 as string, certHash: c.hash, limit: c.limit, expiry: c.expiry })
    this.t.certs.set(c.hash, { cert: b64 as string, info: c })
    return c
  }

  /** Opens certificates sent along with a coin and caches them; returns how many were verified now. */
  learnCertificates(list: unknown): number {
    const fresh = this.openNew(list)
    for (const k of fresh.values()) this.t.certs.set(k.info.hash, k)
    return fresh.size
  }

  /** The certificates of `list` not cached yet, opened (Ed25519-verified) but not kept. */
  private openNew(list: unknown): Map<string, KnownCert> {
    const fresh = new Map<string, KnownCert>()
    if (list == null) return fresh
    if (!Array.isArray(list) || list.length > MAX_CERTS_PER_COIN)
      fail(ErrorCode.BAD_REQUEST, `certificates must be a list of at most ${MAX_CERTS_PER_COIN}`)
    for (const b64 of list) {
      const hash = certHashOf(b64)
      if (this.t.certs.has(hash) || fresh.has(hash)) continue
      const info = openCertificate(this.verifier, b64, this.cfg.broker, 'aggsign-pay')
      fresh.set(hash, { cert: b64 as string, info })
    }
    return fresh
  }

  readonly lookup = (hash: string): CertInfo | undefined => this.t.certs.get(hash)?.info

  /** The certificate envelopes a payee needs to verify `coin` (base64): the payer sends them along. */
  certificatesOf(coin: WireCoin): string[] {
    const hashes = new Set([coin.mint.cert, ...coin.layers.map(l => l.toCert)])
    return [...hashes].map(h => this.t.certs.get(h)?.cert).filter((c): c is string => c != null)
  }

  /** Mints a coin under this node's certificate: the next serial, within the limit (one signature). */
  mint(value: unknown, expiry?: number): CoinResult {
    const k = this.key()
    if (k.certHash == null || k.limit == null || k.expiry == null)
      fail(ErrorCode.NOT_FOUND, 'this node has no certificate to mint under')
    if (!isValue(value)) fail(ErrorCode.BAD_REQUEST, 'value must be a positive amount')
    const now = this.cfg.now()
    const until = expiry ?? k.expiry
    if (now >= k.expiry || until <= now) fail(ErrorCode.EXPIRED, 'the certificate or the coin would be expired')
    if (until > k.expiry) fail(ErrorCode.BAD_REQUEST, 'a coin cannot outlive its certificate')
    if (k.minted + value > k.limit)
      fail(AggsignErrorCode.OVER_LIMIT, `minting ${value} would pass the limit ${k.limit} (minted ${k.minted})`)
    const serial = k.nextSerial
    const coin = mintCoin(fromB64(k.sk), { cert: k.certHash, serial, value, expiry: until })
    const id = coinId(coin)
    this.t.key.set('key', { ...k, nextSerial: serial + 1, minted: k.minted + value })
    this.t.minted.set(String(serial), { serial, id, value, expiry: until, at: now })
    this.keep(id, coin, 'held')
    return { id, coin, counts: counts(0, 1, 0) }
  }

  private keep(id: string, coin: WireCoin, status: HeldCoin['status']): void {
    const { value, expiry } = coin.mint
    this.t.held.set(id, { id, coin, depth: coin.layers.length, value, expiry, status, at: this.cfg.now() })
  }

  /**
   * Pays a held coin on to the holder of certificate `toCert` (known here: the
   * payee sends it, or the broker): one layer, one signature, one message.
   */
  pay(id: string, toCert: string): CoinResult {
    const h = this.t.held.get(id)
    if (h == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no such coin')
    if (h.status !== 'held') fail(ErrorCode.WRONG_HOLDER, `this coin was ${h.status}`)
    if (this.cfg.now() > h.expiry) fail(ErrorCode.EXPIRED, 'coin expired: it can only be cashed')
    const to = this.lookup(toCert)
    if (to == null) fail(AggsignErrorCode.UNKNOWN_CERT, "the payee's certificate is unknown here", { cert: toCert })
    if (to.peer === this.peer) fail(ErrorCode.BAD_REQUEST, 'a coin is not paid to its own holder')
    const coin = addLayer(h.coin, fromB64(this.key().sk), to, this.cfg.maxLayers)
    this.keep(id, coin, 'spent')
    return { id, coin, counts: counts(1, 1, 0) }
  }

  /**
   * Accepts a coin paid to this node, after one aggregate verification (the
   * certificates sent along are opened once and cached). The same coin again
   * is a duplicate; a coin this node held or spent comes back only as an
   * extension of the chain it gave away; any other chain of it is FRAUD.
   */
  accept(
    raw: unknown,
    certs?: unknown
  ): { id: string; depth: number; value: number; duplicate: boolean; counts: Counts } {
    // certificates sent along are kept only with the coin: a refusal leaves the cache as it was
    const fresh = this.openNew(certs)
    const lookup = (h: string): CertInfo | undefined => fresh.get(h)?.info ?? this.lookup(h)
    const c = verifyCoin(raw, { certs: lookup, now: this.cfg.now(), maxLayers: this.cfg.maxLayers })
    const done = counts(0, 0, 1 + fresh.size)
    if (c.renewal) fail(AggsignErrorCode.LAYER_LIMIT, 'a coin past its layer limit goes to its minter by a renewal')
    if (c.depth === 0 || c.holder.peer !== this.peer || c.holder.key !== this.key().pk)
      fail(ErrorCode.WRONG_HOLDER, 'this coin is not paid to this node')
    const known = this.t.held.get(c.id)
    const result = { id: c.id, depth: c.depth, value: c.mint.value, counts: done }
    if (known != null) {
      if (tipHash(known.coin) === c.hashes[c.depth]) return { ...result, duplicate: true }
      this.checkComesBack(known, c)
    }
    for (const k of fresh.values()) this.t.certs.set(k.info.hash, k)
    this.keep(c.id, c.coin, 'held')
    return { ...result, duplicate: false }
  }

  private checkComesBack(known: HeldCoin, c: CoinInfo): void {
    const mine = readCoin(known.coin, { certs: this.lookup, now: this.cfg.now(), maxLayers: this.cfg.maxLayers })
    const fork = forkDepth(mine, c)
    if (known.status === 'spent' && mine.depth < c.depth && fork == null) return
    // an older chain this node already received: a replay, nobody cheated
    if (c.depth < mine.depth && fork == null)
      fail(ErrorCode.REPLAY, `this node already received and ${known.status} this coin`)
    const proof = convict(mine, c)
    fail(ErrorCode.FRAUD, `this node ${known.status} this coin on another chain`, {
      coin: c.id,
      ...(proof != null ? { culprit: proof.culprit, depth: proof.depth, kind: proof.kind } : {})
    })
  }

  /**
   * The renewal layer on a held coin at the layer limit: the coin goes back to
   * its minter (one layer, one signature), who pays a fresh coin for it. The
   * coin is no longer this node's to spend or cash.
   */
  renewLayer(id: string): CoinResult & { minter: string } {
    const h = this.t.held.get(id)
    if (h == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no such coin')
    if (h.status !== 'held') fail(ErrorCode.WRONG_HOLDER, `this coin was ${h.status}`)
    if (this.cfg.now() > h.expiry) fail(ErrorCode.EXPIRED, 'coin expired: it can only be cashed')
    if (h.depth !== this.cfg.maxLayers)
      fail(AggsignErrorCode.LAYER_LIMIT, `only a coin at its ${this.cfg.maxLayers} layers is renewed (${h.depth})`)
    const minter = this.lookup(h.coin.mint.cert)
    if (minter == null) fail(AggsignErrorCode.UNKNOWN_CERT, "the minter's certificate is unknown here")
    if (minter.peer === this.peer) fail(ErrorCode.BAD_REQUEST, 'this node minted the coin: it cashes it')
    const coin = addRenewalLayer(h.coin, fromB64(this.key().sk), minter, this.cfg.maxLayers)
    this.keep(id, coin, 'renewed')
    return { id, coin, minter: minter.peer, counts: counts(1, 1, 0) }
  }

  /**
   * The minter's side of a renewal: takes back its own coin ending in the
   * renewal layer (one aggregate verification), keeps it to cash as a refund,
   * and pays a fresh coin of the same value to the holder that signed the
   * renewal layer. One batch: with no room under the limit nothing is taken.
   * The same renewal again gets the same fresh coin.
   */
  renew(raw: unknown, certs?: unknown): RenewResult {
    const fresh = this.openNew(certs)
    const lookup = (h: string): CertInfo | undefined => fresh.get(h)?.info ?? this.lookup(h)
    const c = verifyCoin(raw, { certs: lookup, now: this.cfg.now(), maxLayers: this.cfg.maxLayers })
    if (!c.renewal) fail(AggsignErrorCode.NOT_RENEWAL, 'this coin does not end in a renewal layer')
    if (c.holder.peer !== this.peer || c.holder.key !== this.key().pk)
      fail(ErrorCode.WRONG_HOLDER, 'this coin is renewed at another minter')
    const tip = c.hashes[c.depth]
    const done = this.t.renewed.get(c.id)
    if (done?.tip === tip) {
      const { old, id, coin, value } = done
      return { old, id, coin, value, duplicate: true, counts: counts(0, 0, 1 + fresh.size) }
    }
    const known = this.t.held.get(c.id)
    // a second renewal chain of one coin (or one it saw go further) is refused as accept refuses it
    if (known != null) this.checkComesBack(known, c)
    const holder = c.holders[c.depth - 1]
    if (holder.peer === this.peer) fail(ErrorCode.BAD_REQUEST, 'a minter does not renew its own coin to itself')
    // mint() checks everything before it changes anything: refused, the old coin is not taken either
    const made = this.mint(c.mint.value)
    const coin = addLayer(made.coin, fromB64(this.key().sk), holder, this.cfg.maxLayers)
    this.keep(made.id, coin, 'spent')
    for (const k of fresh.values()) this.t.certs.set(k.info.hash, k)
    this.keep(c.id, c.coin, 'held')
    const value = c.mint.value
    this.t.renewed.set(c.id, { old: c.id, tip, id: made.id, coin, value, at: this.cfg.now() })
    return { old: c.id, id: made.id, coin, value, duplicate: false, counts: counts(0, 2, 1 + fresh.size) }
  }

  /** The coins this node can spend or cash. */
  holdings(): HeldCoin[] {
    return [...this.t.held.values()].filter(h => h.status === 'held')
  }

  /** The value this node holds in coins. */
  balance(): number {
    return this.holdings().reduce((n, h) => n + h.value, 0)
  }

  /** Marks a coin cashed once the broker paid it (the net side asks the broker first). */
  cashed(id: string): void {
    const h = this.t.held.get(id)
    if (h == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no such coin')
    if (h.status === 'spent' || h.status === 'renewed') fail(ErrorCode.WRONG_HOLDER, `this coin was ${h.status}`)
    if (h.status !== 'cashed') this.t.held.set(id, { ...h, status: 'cashed' })
  }
}
