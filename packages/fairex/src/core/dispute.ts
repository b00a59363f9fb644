// The file market's trusted third party T: the dispute phase of Zuo 05
// (messages 3.1-3.3). A pure, synchronous state machine over in-memory tables,
// like the AC: the service runs each call inside `store.apply`, so a call
// either throws having changed nothing or is one atomic batch.
//
//   3.1  D -> T: REQ, C (signed by P), D's acceptance of C, Z (and D's capital certificate)
//   3.2  T -> D: K, recovered from T's box in Z
//   3.3  T -> P: the countersigned cheque, so D cannot get K without paying
//
// The flaw the survey found lives here, on purpose: T checks the signatures and
// that Z is the one P signed, but it cannot check that K opens the key piece. It
// never sees SEK(KP), the file id or the piece hashes, and even if it did, the
// original C binds no request, so T would not know which file K should open.
// A provider that sealed a garbage K' into Z gets its cheque (3.3) while D gets
// K' (3.2) and no file. The fixed protocol leaves T as it is and adds the judge
// (judgment.ts), who gets everything needed to check K.
import {
  ErrorCode,
  checkTimestamp,
  fail,
  fromB64,
  isHash,
  keyOfPeerId,
  toHex,
  type Opened,
  type Table,
  type Verifier
} from '@p2pay/core'
import { x25519OfPeerId, x25519PublicOf } from './ecies.ts'
import {
  openCertificate,
  openCheque,
  openChequeAccept,
  openRequest,
  type ChequeBody,
  type ChequeForm
} from './messages.ts'
import { checkChequeAgainstRequest } from './message-relations.ts'
import { openZ, zHash } from './zbox.ts'

/** What D sends in 3.1; every object is a base64 signed envelope, `z` is base64 Z. */
export interface DisputeBundle {
  request: string
  cheque: string
  accept: string
  z: string
  /** D's capital certificate, handed on to P with the cheque so P can deposit it */
  certificate?: string
}

export interface DisputeRecord {
  /** the dispute id: hash of P's cheque envelope (one dispute per cheque) */
  id: string
  form: ChequeForm
  provider: string
  downloader: string
  chequeSn: string
  price: number
  /** hash of the REQ envelope D showed */
  request: string
  /** what T's box in Z held, hex: K, or P's K' (T cannot tell) */
  key: string
  at: number
  /** when P fetched the countersigned cheque (3.3) */
  delivered?: number
}

/** A countersigned cheque waiting for its provider (3.3). */
export interface PendingCheque {
  id: string
  provider: string
  downloader: string
  chequeSn: string
  price: number
  /** base64 envelopes: exactly the bytes D sent, ready for a deposit */
  cheque: string
  accept: string
  certificate?: string
  at: number
}

/** The answer of 3.2. */
export interface DisputeResult {
  dispute: string
  /** hex K for D */
  key: string
  form: ChequeForm
  provider: string
  downloader: string
  chequeSn: string
}

export interface TtpMeta {
  disputes: number
  delivered: number
}

export interface DisputeTables {
  /** by dispute id (cheque hash) */
  disputes: Table<DisputeRecord>
  /** `provider|id`, only while undelivered: a provider's queue is a scan of what is still pending */
  forProvider: Table<PendingCheque>
  meta: Table<TtpMeta>
}

/** At most this many ids per `delivered` call. */
export const MAX_DELIVERED = 512
const MAX_Z_B64 = 5464 // base64 of openZ's 4096-byte bound

export const EMPTY_TTP_META: TtpMeta = { disputes: 0, delivered: 0 }
const pendingKey = (provider: string, id: string): string => `${provider}|${id}`

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(ErrorCode.BAD_REQUEST, `${what} must be a non-empty base64 string`)
  return v
}

export class Ttp {
  readonly t: DisputeTables
  /** T's peer id: cheques name it */
  readonly ttp: string
  private readonly x25519: Uint8Array
  private readonly verifier: Verifier

  /** `x25519Private` is x25519FromEd25519Seed(identity seed).privateKey; it must belong to `ttp`. */
  constructor(t: DisputeTables, ttp: string, x25519Private: Uint8Array, verifier: Verifier) {
    keyOfPeerId(ttp)
    if (toHex(x25519PublicOf(x25519Private)) !== toHex(x25519OfPeerId(ttp)))
      throw new TypeError('X25519 key does not belong to the TTP identity')
    this.t = t
    this.ttp = ttp
    this.x25519 = x25519Private
    this.verifier = verifier
  }

  private meta(): TtpMeta {
    return this.t.meta.get('meta') ?? EMPTY_TTP_META
  }

  dispute(id: string): DisputeRecord | undefined {
    return this.t.disputes.get(id)
  }

  /**
   * Message 3.1 in, 3.2 out; queues 3.3 for P. Refuses (P2payError, nothing
   * changed) a bundle whose cheque P did not sign, that D did not countersign,
   * whose REQ does not fit the cheque, whose Z is not the one P signed, that
   * names another TTP, or whose Z holds no box for this TTP. The same cheque
   * again gets the same answer and records nothing.
   */
  resolve(bundle: DisputeBundle, now: number): DisputeResult {
    checkTimestamp(now, 'now')
    if (bundle == null || typeof bundle !== 'object')
      fail(ErrorCode.BAD_REQUEST, 'dispute must be {request, cheque, accept, z, certificate?}')
    const zB64 = str(bundle.z, 'z')
    if (zB64.length > MAX_Z_B64) fail(ErrorCode.BAD_REQUEST, 'Z too large')
    const z = fromB64(zB64)

    const cheque = openCheque(this.verifier, bundle.cheque, 'fairex-dispute')
    const c = cheque.body
    if (c.ttp !== this.ttp) fail(ErrorCode.WRONG_BROKER, 'cheque names another TTP')
    openChequeAccept(this.verifier, bundle.accept, cheque, 'fairex-dispute')
    const req = openRequest(this.verifier, bundle.request, 'fairex-dispute')
    // fixed form: the cheque signs this very REQ; original: only the copied fields can be compared
    checkChequeAgainstRequest(cheque, req, { z: zHash(z) })
    // the certificate is what P deposits the cheque against: no key leaves without it
    if (bundle.certificate === undefined)
      fail(ErrorCode.BAD_REQUEST, "a dispute must carry the downloader's capital certificate")
    const certificate = this.checkCertificate(bundle.certificate, cheque)

    const done = this.t.disputes.get(cheque.hash)
    if (done != null) return this.result(done)

    // BAD_SIGNATURE if T's box does not open or names another sale: P signed a Z
    // nobody can resolve, and T has nothing to give D (only the judge can act on that)
    const key = openZ(z, 'ttp', this.x25519, { provider: c.provider, downloader: c.downloader, chequeSn: c.chequeSn })
    // here the paper's T would have to check K against the key piece, and cannot (see the file comment)

    const rec: DisputeRecord = {
      id: cheque.hash,
      form: c.form,
      provider: c.provider,
      downloader: c.downloader,
      chequeSn: c.chequeSn,
      price: c.price,
      request: req.hash,
      key: toHex(key),
      at: now
    }
    const pending: PendingCheque = {
      id: rec.id,
      provider: c.provider,
      downloader: c.downloader,
      chequeSn: c.chequeSn,
      price: c.price,
      cheque: bundle.cheque,
      accept: bundle.accept,
      ...(certificate !== undefined ? { certificate } : {}),
      at: now
    }
    this.t.disputes.set(rec.id, rec)
    this.t.forProvider.set(pendingKey(c.provider, rec.id), pending)
    const m = this.meta()
    this.t.meta.set('meta', { ...m, disputes: m.disputes + 1 })
    return this.result(rec)
  }

  /** D's certificate, when sent, must be D's and (fixed form) the one the cheque names; expiry is the AC's business. */
  private checkCertificate(b64: unknown, cheque: Opened<ChequeBody>): string {
    const cert = openCertificate(this.verifier, b64, undefined, 'fairex-dispute')
    if (cert.body.peer !== cheque.body.downloader)
      fail(ErrorCode.WRONG_OWNER, 'capital certificate belongs to another peer than the downloader')
    if (cheque.body.form === 'fixed' && cheque.body.certificate !== cert.hash)
      fail(ErrorCode.BAD_REQUEST, 'cheque names another capital certificate')
    return b64 as string
  }

  private result(r: DisputeRecord): DisputeResult {
    return {
      dispute: r.id,
      key: r.key,
      form: r.form,
      provider: r.provider,
      downloader: r.downloader,
      chequeSn: r.chequeSn
    }
  }

  /**
   * Countersigned cheques waiting for `provider` (3.3), oldest first. The
   * service must only show a provider its own queue (the caller's peer id).
   */
  pendingFor(provider: string, limit = MAX_DELIVERED): PendingCheque[] {
    const out: PendingCheque[] = []
    for (const p of this.t.forProvider.values()) if (p.provider === provider) out.push(p)
    out.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return out.slice(0, Math.max(0, limit))
  }

  /**
   * P confirms it holds these cheques: they leave its queue. Ids already
   * delivered are skipped (a retry after a lost reply); an id never queued for
   * this provider refuses the whole call. Returns the ids newly delivered.
   */
  delivered(provider: string, ids: unknown, now: number): { delivered: string[] } {
    checkTimestamp(now, 'now')
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_DELIVERED)
      fail(ErrorCode.BAD_REQUEST, `ids must list 1..${MAX_DELIVERED} dispute ids`)
    const fresh: string[] = []
    for (const id of ids) {
      if (!isHash(id)) fail(ErrorCode.BAD_REQUEST, 'a dispute id is 64 lowercase hex digits')
      const rec = this.t.disputes.get(id)
      if (rec == null || rec.provider !== provider) fail(ErrorCode.NOT_FOUND, `no dispute ${id} for this provider`)
      if (this.t.forProvider.has(pendingKey(provider, id)) && !fresh.includes(id)) fresh.push(id)
    }
    for (const id of fresh) {
      this.t.forProvider.delete(pendingKey(provider, id))
      this.t.disputes.set(id, { ...this.t.disputes.get(id)!, delivered: now })
    }
    if (fresh.length > 0) {
      const m = this.meta()
      this.t.meta.set('meta', { ...m, delivered: m.delivered + fresh.length })
    }
    return { delivered: fresh }
  }
}
