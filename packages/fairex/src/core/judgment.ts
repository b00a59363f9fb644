// The judge of the fixed file market (the survey's section VI): D complains with
// COMP = C*, Z, Sig_D, Sig_P, REQ, SEK(KP), plus P's manifest and the file's piece
// hashes, and the judge rules providerBan or invalidComplain. A pure,
// synchronous state machine over in-memory tables; the service runs each call
// inside `store.apply`. Unlike the TTP (dispute.ts) the judge can check K: C*
// signs REQ (so the file id), the manifest (so the piece count), the key piece
// index, H(SEK(KP)) and H(Z), and Z holds a box for the judge.
//
// Who is at fault follows from who signed what. P signed C*, so anything whose
// hash C* carries is P's commitment: if it is bad, P is banned. D chooses what
// to show the judge, so anything that does not match a hash in C* is D's doing
// (another REQ', Z, SEK or manifest) and the complaint is invalid.
//
//   check, in order                                             ruling
//   bad base64 or envelope, not C*, C* names another judge      throw, nothing recorded (nobody's fault)
//   C* not signed by P, acceptance (Sig_D) not D's or of
//     another cheque                                            throw (no real sale to judge, and no K without it)
//   certificate missing, not D's, or not the one C* names       throw (P could not deposit the cheque kept for it)
//   complainant is not C*'s downloader                          throw (P could pre-empt D with a bogus complaint)
//   a verdict exists for C*                                     that verdict again, nothing recorded
//   REQ signature bad or not D's, or H(REQ) != C*.req           invalidComplain  otherRequest (D's REQ')
//   REQ's parties, serial or price differ from C*               providerBan      chequeContradictsRequest
//   H(Z) != C*.z                                                invalidComplain  otherZ
//   H(SEK(KP)) != C*.hSEK                                       invalidComplain  otherSek
//   H(manifest) != C*.manifest                                  invalidComplain  otherManifest
//   that manifest unreadable, not P's, of another file than
//     REQ, or keyIndex not one of its pieces                    providerBan      badManifest
//   piece hashes: root != file id or count != pieceCount        invalidComplain  otherPieceList
//   Z's judge box missing, or does not open for this sale       providerBan      noJudgeKey
//   K decrypts SEK(KP) to piece keyIndex                        invalidComplain  keyOpensPiece (verdict carries K)
//   otherwise                                                   providerBan      wrongKey
//
// A providerBan also yields a ban record (peers honour it until `until`) and is
// what the AC voids the cheque on, after checking it with openVerdict.
//
// A keyOpensPiece verdict hands D the key, so D got what it paid for: the judge
// keeps the countersigned cheque (C*, Sig_D and D's certificate, checked as the
// TTP checks them) for P, in the verdict's batch, and P fetches it before it
// deposits (`keptFor`, `delivered`), as it fetches what the TTP kept (3.3).
// Without it a D that signs 2.3 but never sends it to P, and complains here
// instead, would get the file while P has nothing to deposit (models/fairex-fixed.pml).
import {
  ErrorCode,
  P2payError,
  checkTimestamp,
  fail,
  fromB64,
  isHash,
  sha256Hex,
  toB64,
  toHex,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { x25519OfPeerId, x25519PublicOf } from './ecies.ts'
import {
  EMPTY_JUDGE_META,
  JUDGMENT_TAG,
  RULING_OF,
  checkBanBody,
  checkVerdictBody,
  type BanBody,
  type BanRecord,
  type Complaint,
  type JudgeMeta,
  type JudgeResult,
  type JudgmentConfig,
  type JudgmentTables,
  type KeptCheque,
  type VerdictBody,
  type VerdictReason,
  type VerdictRecord
} from './judgment-records.ts'
import { IV_LEN, decryptKeyPiece, sekHash } from './keypiece.ts'
import { openManifest, type ManifestBody } from './manifest.ts'
import { merkleRoot, pieceHash } from './merkle.ts'
import {
  decodeEnvelope,
  openCertificate,
  openCheque,
  openChequeAccept,
  openRequest,
  type ChequeBody,
  type FixedChequeBody,
  type RequestBody
} from './messages.ts'
import { MAX_PIECES, MAX_PIECE_SIZE } from './pieces.ts'
import { openZ, zHash } from './zbox.ts'

const MAX_Z_B64 = 5464
const MAX_SEK_B64 = Math.ceil((IV_LEN + MAX_PIECE_SIZE) / 3) * 4
const MAX_MANIFEST_B64 = 4096
/** bans per `bans` answer: ~500 bytes each, so a page is half a 1 MiB frame */
export const BANS_PER_PAGE = 1000
/** At most this many cheque ids per `delivered` call (and cheques per `keptFor` answer). */
export const MAX_KEPT_DELIVERED = 512

const keptKey = (provider: string, id: string): string => `${provider}|${id}`

interface Parsed {
  cheque: Opened<ChequeBody> & { body: FixedChequeBody }
  /** base64 envelopes of D's acceptance and certificate, checked: what the judge keeps for P */
  accept: string
  certificate: string
  request: string
  z: Uint8Array
  sek: Uint8Array
  manifestB64: string
  manifestHash: string
  pieceHashes: Uint8Array[]
}

interface Finding {
  reason: VerdictReason
  key?: string
}

function b64Field(v: unknown, max: number, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    fail(ErrorCode.BAD_REQUEST, `${what} must be base64 of at most ${max} characters`)
  return fromB64(v)
}

/** Only "signed, but not by the right party" is a finding; an object that does not parse at all is a bad request. */
const isSignatureFault = (err: unknown): boolean =>
  err instanceof P2payError && (err.code === ErrorCode.BAD_SIGNATURE || err.code === ErrorCode.WRONG_SIGNER)

export class Judge {
  readonly t: JudgmentTables
  private readonly signer: Signer
  private readonly x25519: Uint8Array
  private readonly verifier: Verifier
  readonly cfg: JudgmentConfig

  /** `x25519Private` is x25519FromEd25519Seed(identity seed).privateKey; it must belong to the signer. */
  constructor(t: JudgmentTables, signer: Signer, x25519Private: Uint8Array, verifier: Verifier, cfg: JudgmentConfig) {
    if (!Number.isSafeInteger(cfg.banMs) || cfg.banMs <= 0) throw new TypeError('banMs must be a positive integer')
    if (toHex(x25519PublicOf(x25519Private)) !== toHex(x25519OfPeerId(signer.peerId)))
      throw new TypeError('X25519 key does not belong to the judge identity')
    this.t = t
    this.signer = signer
    this.x25519 = x25519Private
    this.verifier = verifier
    this.cfg = cfg
  }

  get judgeId(): string {
    return this.signer.peerId
  }

  private meta(): JudgeMeta {
    return this.t.meta.get('meta') ?? EMPTY_JUDGE_META
  }

  verdict(chequeHash: string): VerdictRecord | undefined {
    return this.t.verdicts.get(chequeHash)
  }

  /**
   * Judges D's complaint (see the table in the file comment). `complainant` is
   * the peer the complaint came from, authenticated by the transport: only the
   * cheque's downloader may complain, since the first verdict on a cheque is final.
   */
  judge(comp: Complaint, complainant: string): JudgeResult {
    const p = this.parse(comp)
    const c = p.cheque.body
    if (complainant !== c.downloader) fail(ErrorCode.WRONG_SIGNER, "only the cheque's downloader can complain")
    const done = this.t.verdicts.get(p.cheque.hash)
    if (done != null) return this.result(done)

    const finding = this.rule(p)
    const ruling = RULING_OF[finding.reason]
    const now = this.cfg.now()
    const body: VerdictBody = {
      judge: this.judgeId,
      cheque: p.cheque.hash,
      provider: c.provider,
      downloader: c.downloader,
      chequeSn: c.chequeSn,
      ruling,
      reason: finding.reason,
      ...(finding.key !== undefined ? { key: finding.key } : {}),
      at: now
    }
    checkVerdictBody(body)
    const v = this.signer.sign<VerdictBody>(JUDGMENT_TAG.verdict, body, 'fairex-judge')
    const rec: VerdictRecord = { hash: v.hash, verdict: toB64(v.bytes), body }
    let banB64: string | undefined
    if (ruling === 'providerBan') {
      const banBody: BanBody = {
        judge: this.judgeId,
        peer: c.provider,
        verdict: v.hash,
        from: now,
        until: now + this.cfg.banMs
      }
      checkBanBody(banBody)
      const ban = this.signer.sign<BanBody>(JUDGMENT_TAG.ban, banBody, 'fairex-judge')
      banB64 = toB64(ban.bytes)
      rec.ban = ban.hash
      this.t.bans.set(ban.hash, {
        hash: ban.hash,
        peer: c.provider,
        verdict: v.hash,
        from: banBody.from,
        until: banBody.until,
        ban: banB64
      })
    }
    this.t.verdicts.set(p.cheque.hash, rec)
    if (finding.reason === 'keyOpensPiece') this.keep(p, comp.cheque, v.hash, now)
    const m = this.meta()
    this.t.meta.set('meta', { ...m, verdicts: m.verdicts + 1, [ruling]: m[ruling] + 1 })
    return { hash: rec.hash, verdict: rec.verdict, body, ...(banB64 !== undefined ? { ban: banB64 } : {}) }
  }

  /** The countersigned cheque, for P: D has the key, so P must have something to deposit. */
  private keep(p: Parsed, chequeB64: string, verdict: string, now: number): void {
    const c = p.cheque.body
    const kept: KeptCheque = {
      id: p.cheque.hash,
      provider: c.provider,
      downloader: c.downloader,
      chequeSn: c.chequeSn,
      price: c.price,
      cheque: chequeB64,
      accept: p.accept,
      certificate: p.certificate,
      verdict,
      at: now
    }
    this.t.kept.set(keptKey(c.provider, kept.id), kept)
  }

  /**
   * Countersigned cheques kept for `provider`, oldest first. The service must
   * only show a provider its own (the caller's peer id).
   */
  keptFor(provider: string, limit = MAX_KEPT_DELIVERED): KeptCheque[] {
    const out: KeptCheque[] = []
    for (const k of this.t.kept.values()) if (k.provider === provider) out.push(k)
    out.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return out.slice(0, Math.max(0, limit))
  }

  /**
   * P holds these kept cheques: they leave its queue. Ids already delivered are
   * skipped (a retry after a lost reply); an id the judge never kept for this
   * provider refuses the whole call. Returns the ids newly delivered.
   */
  delivered(provider: string, ids: unknown, now: number): { delivered: string[] } {
    checkTimestamp(now, 'now')
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_KEPT_DELIVERED)
      fail(ErrorCode.BAD_REQUEST, `ids must list 1..${MAX_KEPT_DELIVERED} cheque hashes`)
    const fresh: string[] = []
    for (const id of ids) {
      if (!isHash(id)) fail(ErrorCode.BAD_REQUEST, 'a cheque hash is 64 lowercase hex digits')
      const v = this.t.verdicts.get(id)
      if (v == null || v.body.provider !== provider || v.body.reason !== 'keyOpensPiece')
        fail(ErrorCode.NOT_FOUND, `no cheque ${id} kept for this provider`)
      if (this.t.kept.has(keptKey(provider, id)) && !fresh.includes(id)) fresh.push(id)
    }
    for (const id of fresh) {
      this.t.kept.delete(keptKey(provider, id))
      this.t.verdicts.set(id, { ...this.t.verdicts.get(id)!, delivered: now })
    }
    return { delivered: fresh }
  }

  private result(r: VerdictRecord): JudgeResult {
    const ban = r.ban !== undefined ? this.t.bans.get(r.ban)?.ban : undefined
    return { hash: r.hash, verdict: r.verdict, body: r.body, ...(ban !== undefined ? { ban } : {}) }
  }

  /** Everything that makes a complaint unjudgeable: it throws, and nothing is recorded. */
  private parse(comp: Complaint): Parsed {
    if (comp == null || typeof comp !== 'object')
      fail(
        ErrorCode.BAD_REQUEST,
        'complaint must be {cheque, accept, z, request, sek, manifest, pieceHashes, certificate}'
      )
    const z = b64Field(comp.z, MAX_Z_B64, 'z')
    const sek = b64Field(comp.sek, MAX_SEK_B64, 'sek')
    const manifest = b64Field(comp.manifest, MAX_MANIFEST_B64, 'manifest')
    decodeEnvelope(comp.request, 'download request')
    const list = comp.pieceHashes
    // refused before any hashing
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PIECES)
      fail(ErrorCode.BAD_REQUEST, `pieceHashes must list 1..${MAX_PIECES} piece hashes`)
    const pieceHashes = list.map((h: unknown, i: number) => {
      if (!isHash(h)) fail(ErrorCode.BAD_REQUEST, `piece hash ${i} must be 64 lowercase hex digits`)
      return new Uint8Array(Buffer.from(h, 'hex'))
    })
    // C* and D's acceptance must be real: without them there is no sale to judge
    const cheque = openCheque(this.verifier, comp.cheque, 'fairex-judge')
    const c = cheque.body
    if (c.form !== 'fixed')
      fail(ErrorCode.BAD_REQUEST, 'only fixed-form cheques can be judged: the original C binds no request')
    if (c.judge !== this.judgeId) fail(ErrorCode.WRONG_BROKER, 'cheque names another judge')
    try {
      openChequeAccept(this.verifier, comp.accept, cheque, 'fairex-judge')
    } catch (err) {
      if (!(err instanceof P2payError)) throw err
      fail(err.code, `no key without D's acceptance of C* (Sig_D): ${err.message}`)
    }
    // what P deposits the kept cheque against, checked as the TTP checks it
    if (comp.certificate === undefined)
      fail(ErrorCode.BAD_REQUEST, "a complaint must carry the downloader's capital certificate")
    const cert = openCertificate(this.verifier, comp.certificate, undefined, 'fairex-judge')
    if (cert.body.peer !== c.downloader)
      fail(ErrorCode.WRONG_OWNER, 'capital certificate belongs to another peer than the downloader')
    if (cert.hash !== c.certificate) fail(ErrorCode.BAD_REQUEST, 'cheque names another capital certificate')
    return {
      cheque: cheque as Parsed['cheque'],
      accept: comp.accept,
      certificate: comp.certificate,
      request: comp.request,
      z,
      sek,
      manifestB64: comp.manifest,
      manifestHash: sha256Hex(manifest),
      pieceHashes
    }
  }

  /** The rulings, in table order. Pure: returns the first finding. */
  private rule(p: Parsed): Finding {
    const c = p.cheque.body

    let req: Opened<RequestBody>
    try {
      req = openRequest(this.verifier, p.request, 'fairex-judge')
    } catch (err) {
      if (isSignatureFault(err)) return { reason: 'otherRequest' }
      throw err
    }
    if (req.hash !== c.req) return { reason: 'otherRequest' }
    // this REQ is the one P signed into C*: if they disagree, P signed the disagreement
    const r = req.body
    if (
      r.provider !== c.provider ||
      r.downloader !== c.downloader ||
      r.ttp !== c.ttp ||
      r.chequeSn !== c.chequeSn ||
      r.price !== c.price
    ) {
      return { reason: 'chequeContradictsRequest' }
    }

    if (zHash(p.z) !== c.z) return { reason: 'otherZ' }
    if (sekHash(p.sek) !== c.hSEK) return { reason: 'otherSek' }

    if (p.manifestHash !== c.manifest) return { reason: 'otherManifest' }
    let m: ManifestBody
    try {
      m = openManifest(this.verifier, p.manifestB64, 'fairex-judge').body
    } catch (err) {
      if (err instanceof P2payError) return { reason: 'badManifest' }
      throw err
    }
    if (m.provider !== c.provider || m.fileId !== r.fileId || c.keyIndex >= m.pieceCount)
      return { reason: 'badManifest' }

    if (p.pieceHashes.length !== m.pieceCount || toHex(merkleRoot(p.pieceHashes)) !== r.fileId)
      return { reason: 'otherPieceList' }

    let key: Uint8Array
    try {
      key = openZ(p.z, 'judge', this.x25519, { provider: c.provider, downloader: c.downloader, chequeSn: c.chequeSn })
    } catch (err) {
      // H(Z) is in C*: whatever is wrong with Z, P signed it
      if (err instanceof P2payError) return { reason: 'noJudgeKey' }
      throw err
    }

    let piece: Uint8Array
    try {
      piece = decryptKeyPiece(key, p.sek)
    } catch (err) {
      // a SEK(KP) of impossible length, yet its hash is in C*
      if (err instanceof P2payError) return { reason: 'wrongKey' }
      throw err
    }
    if (toHex(pieceHash(piece)) === toHex(p.pieceHashes[c.keyIndex]))
      return { reason: 'keyOpensPiece', key: toHex(key) }
    return { reason: 'wrongKey' }
  }

  /**
   * The active bans ruled at `since` or later, oldest first, at most `max` (a page ends with a millisecond's last
   * ban). `cursor`: the next page's `since`. On the last page it is the newest ban's time, so a ban ruled later in
   * that millisecond is sent next time; with `more` it is past the page, as later bans exist and time has moved on.
   */
  bansSince(since: number, max = BANS_PER_PAGE): { bans: BanRecord[]; cursor: number; more: boolean } {
    const fresh = this.activeBans().filter(b => b.from >= since)
    if (fresh.length <= max) return { bans: fresh, cursor: fresh.at(-1)?.from ?? since, more: false }
    let end = max
    while (end < fresh.length && fresh[end].from === fresh[end - 1].from) end++
    const bans = fresh.slice(0, end)
    return { bans, cursor: bans[end - 1].from + 1, more: end < fresh.length }
  }

  /** Bans in force at `now` (until is exclusive). A scan: bans are rare. */
  activeBans(now = this.cfg.now()): BanRecord[] {
    const out: BanRecord[] = []
    for (const b of this.t.bans.values()) if (now < b.until) out.push(b)
    return out.sort((a, b) => a.from - b.from || (a.hash < b.hash ? -1 : 1))
  }

  isBanned(peer: string, now = this.cfg.now()): boolean {
    for (const b of this.t.bans.values()) if (b.peer === peer && now < b.until) return true
    return false
  }
}
