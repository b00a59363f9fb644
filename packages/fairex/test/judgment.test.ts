// judgment.ts: the judge of the fixed protocol. A provider that sealed a garbage
// K' is banned by a signed record (where the TTP would have handed K' out); a
// downloader who shows another REQ', Z, SEK, manifest or piece list gets
// invalidComplain; an honest provider's right key comes back in the verdict.
// One verdict per cheque, bans expire, and every refusal changes nothing.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  P2payError,
  Table,
  Verifier,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  toHex,
  type Opened,
  type Signer
} from '@p2pay/core'
import { x25519FromEd25519Seed } from '../src/ecies.ts'
import {
  JUDGMENT_TABLES,
  JUDGMENT_TAG,
  Judge,
  openBan,
  openVerdict,
  type BanBody,
  type Complaint,
  type JudgeResult,
  type JudgmentTables,
  type VerdictBody
} from '../src/judgment.ts'
import { encryptKeyPiece, newPieceKey, sekHash } from '../src/keypiece.ts'
import { signManifest } from '../src/manifest.ts'
import { merkleRoot, pieceHash } from '../src/merkle.ts'
import {
  FAIREX_TAG,
  acceptCheque,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/messages.ts'
import { sealZ, zHash, type ZRecipients } from '../src/zbox.ts'

const verifier = new Verifier(nodeEd25519())
const T0 = 1_700_000_000_000
const PIECE = 16 * 1024
const BAN_MS = 3_600_000

class Clock {
  t = T0
  readonly now = (): number => this.t
}

interface Ident {
  signer: Signer
  id: string
  x: Uint8Array
}
async function ident(): Promise<Ident> {
  const key = await generateKeyPair('Ed25519')
  const signer = signerFor(key, nodeEd25519())
  // identity.ts: Ed25519 raw = 32-byte seed | 32-byte public key
  return {
    signer,
    id: signer.peerId,
    x: x25519FromEd25519Seed((key as Ed25519PrivateKey).raw.subarray(0, 32)).privateKey
  }
}

const judgeTables = (): JudgmentTables =>
  Object.fromEntries(JUDGMENT_TABLES.map(n => [n, new Table(`judge-${n}`)])) as unknown as JudgmentTables

interface World {
  clock: Clock
  T: Ident
  J: Ident
  P: Ident
  D: Ident
  X: Ident
  judge: Judge
}

async function world(): Promise<World> {
  const clock = new Clock()
  const [T, J, P, D, X] = await Promise.all([ident(), ident(), ident(), ident(), ident()])
  return {
    clock,
    T,
    J,
    P,
    D,
    X,
    judge: new Judge(judgeTables(), J.signer, J.x, verifier, { banMs: BAN_MS, now: clock.now })
  }
}

const b64 = (o: Opened<unknown>): string => toB64(o.bytes)
const hex = (): string => sha256Hex(randomBytes(16))

function file(): { pieces: Uint8Array[]; hashes: Uint8Array[]; fileId: string; size: number } {
  const size = 3 * PIECE + 777
  const data = new Uint8Array(randomBytes(size))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < size; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  return { pieces, hashes, fileId: toHex(merkleRoot(hashes)), size }
}

interface Sale {
  f: ReturnType<typeof file>
  K: Uint8Array
  req: Opened<RequestBody>
  cheque: Opened<ChequeBody>
  manifest: string
  comp: Complaint
}

interface SaleOptions {
  /** what P seals into Z: K when honest, K' for the attack */
  sealed?: Uint8Array
  /** whom P seals Z to (default: the TTP and this judge) */
  to?: ZRecipients
  /** the manifest P names in C* (default: its manifest of the sold file) */
  manifestFileId?: string
  cheque?: Partial<FixedChequeBody> | Partial<OriginalChequeBody>
  form?: 'fixed' | 'original'
}

/** One fixed-form sale (1.1 to 2.3) as the parties sign it, and D's complaint about it. */
function sale(w: World, o: SaleOptions = {}): Sale {
  const f = file()
  const K = newPieceKey()
  const keyIndex = 2
  const sek = encryptKeyPiece(K, f.pieces[keyIndex])
  const price = 7
  const req = signRequest(w.D.signer, {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    fileId: f.fileId,
    chequeSn: randomId(8),
    ts: T0,
    price
  })
  const z = sealZ(
    o.sealed ?? K,
    { provider: w.P.id, downloader: w.D.id, chequeSn: req.body.chequeSn },
    o.to ?? { ttp: w.T.id, judge: w.J.id }
  )
  const manifest = signManifest(w.P.signer, {
    fileId: o.manifestFileId ?? f.fileId,
    name: 'song.ogg',
    size: f.size,
    pieceSize: PIECE,
    price,
    createdAt: T0 - 1000
  })
  const common = {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    chequeSn: req.body.chequeSn,
    price,
    ts: T0 + 5,
    hSEK: sekHash(sek),
    z: zHash(z)
  }
  const body =
    o.form === 'original'
      ? ({ form: 'original', ...common, hKP: hex(), ...o.cheque } as OriginalChequeBody)
      : ({
          form: 'fixed',
          ...common,
          req: req.hash,
          certificate: hex(),
          judge: w.J.id,
          manifest: sha256Hex(fromB64(manifest)),
          keyIndex,
          ...o.cheque
        } as FixedChequeBody)
  const cheque = signCheque(w.P.signer, body)
  const accept = acceptCheque(w.D.signer, cheque)
  return {
    f,
    K,
    req,
    cheque,
    manifest,
    comp: {
      cheque: b64(cheque),
      accept: b64(accept),
      z: toB64(z),
      request: b64(req),
      sek: toB64(sek),
      manifest,
      pieceHashes: f.hashes.map(toHex)
    }
  }
}

function snapshot(w: World): string {
  return JSON.stringify(Object.entries(w.judge.t).map(([name, t]) => [name, [...(t as Table).entries()]]))
}

function rejects(w: World, fn: () => unknown, code: string): P2payError {
  const before = snapshot(w)
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(
    caught instanceof P2payError,
    `expected P2payError ${code}, got ${caught === undefined ? 'no throw' : String(caught)}`
  )
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  assert.equal(snapshot(w), before, `tables changed although ${code} was thrown`)
  return caught
}

/** The verdict as a node or the AC would check it, and that it is about this sale. */
function checkVerdict(w: World, s: Sale, r: JudgeResult, ruling: string, reason: string): VerdictBody {
  const v = openVerdict(verifier, r.verdict, w.J.id)
  assert.equal(v.hash, r.hash)
  assert.deepEqual(v.body, r.body)
  assert.equal(v.signer, w.J.id)
  assert.equal(v.body.ruling, ruling)
  assert.equal(v.body.reason, reason)
  assert.equal(v.body.cheque, s.cheque.hash)
  assert.equal(v.body.provider, w.P.id)
  assert.equal(v.body.downloader, w.D.id)
  assert.equal(v.body.chequeSn, s.cheque.body.chequeSn)
  assert.equal(v.body.at, w.clock.t)
  if (ruling === 'invalidComplain') {
    assert.equal(r.ban, undefined)
    assert.equal(w.judge.verdict(s.cheque.hash)!.ban, undefined)
  }
  return v.body
}

describe('judge: the judgment phase of the fixed protocol', () => {
  it("bans a provider that sealed K' (the paper's attack on the fixed form), where the TTP would hand K' out", async () => {
    const w = await world()
    const Kx = newPieceKey()
    const s = sale(w, { sealed: Kx })

    // (that the TTP would hand K' out, blind as in the original protocol, is dispute.test.ts's)
    const r = w.judge.judge(s.comp, w.D.id)
    const body = checkVerdict(w, s, r, 'providerBan', 'wrongKey')
    assert.equal(body.key, undefined)
    assert.ok(r.ban !== undefined)
    const ban = openBan(verifier, r.ban, w.J.id, w.clock.t)
    assert.deepEqual(ban.body, { judge: w.J.id, peer: w.P.id, verdict: r.hash, from: T0, until: T0 + BAN_MS })
    assert.equal(w.judge.verdict(s.cheque.hash)!.ban, ban.hash)
    assert.equal(w.judge.isBanned(w.P.id), true)
    assert.equal(w.judge.isBanned(w.D.id), false)
    assert.deepEqual(
      w.judge.activeBans().map(b => b.hash),
      [ban.hash]
    )
    assert.deepEqual(w.judge.t.meta.get('meta'), { verdicts: 1, providerBan: 1, invalidComplain: 0 })
  })

  it('bans a provider whose Z gives the judge no key', async () => {
    const w = await world()
    for (const to of [{ ttp: w.T.id }, { ttp: w.T.id, judge: w.X.id }]) {
      const s = sale(w, { to })
      checkVerdict(w, s, w.judge.judge(s.comp, w.D.id), 'providerBan', 'noJudgeKey')
    }
    assert.equal(w.judge.activeBans().length, 2)
  })

  it("bans a provider whose C* contradicts what it signed into it: another file's manifest, a key index past the file, another price", async () => {
    const w = await world()
    const a = sale(w, { manifestFileId: hex() })
    checkVerdict(w, a, w.judge.judge(a.comp, w.D.id), 'providerBan', 'badManifest')
    const b = sale(w, { cheque: { keyIndex: 4 } })
    checkVerdict(w, b, w.judge.judge(b.comp, w.D.id), 'providerBan', 'badManifest')
    const c = sale(w, { cheque: { price: 8 } })
    checkVerdict(w, c, w.judge.judge(c.comp, w.D.id), 'providerBan', 'chequeContradictsRequest')
  })

  it('an honest provider: invalidComplain, with K in the verdict so D can finish', async () => {
    const w = await world()
    const s = sale(w)
    const r = w.judge.judge(s.comp, w.D.id)
    const body = checkVerdict(w, s, r, 'invalidComplain', 'keyOpensPiece')
    assert.equal(body.key, toHex(s.K))
    assert.equal(w.judge.isBanned(w.P.id), false)
    assert.equal(w.judge.t.bans.size, 0)
    assert.deepEqual(w.judge.t.meta.get('meta'), { verdicts: 1, providerBan: 0, invalidComplain: 1 })
  })

  it('a lying downloader gets invalidComplain and no ban, even against a cheating provider', async () => {
    const w = await world()
    const lies: Array<[string, (s: Sale) => Partial<Complaint>]> = [
      // REQ': D's own request for another file, and a request D did not sign
      ['otherRequest', s => ({ request: b64(signRequest(w.D.signer, { ...s.req.body, fileId: hex() })) })],
      ['otherRequest', s => ({ request: b64(w.X.signer.sign(FAIREX_TAG.request, s.req.body, 'test')) })],
      // D's own Z, sealed to the judge with a key of its choosing
      [
        'otherZ',
        s => ({
          z: toB64(
            sealZ(
              newPieceKey(),
              { provider: w.P.id, downloader: w.D.id, chequeSn: s.req.body.chequeSn },
              { ttp: w.T.id, judge: w.J.id }
            )
          )
        })
      ],
      // another SEK(KP): another piece, or the right piece under another key
      ['otherSek', s => ({ sek: toB64(encryptKeyPiece(s.K, s.f.pieces[0])) })],
      ['otherSek', s => ({ sek: toB64(encryptKeyPiece(newPieceKey(), s.f.pieces[2])) })],
      // another manifest, even a genuine one of P's for the same file
      [
        'otherManifest',
        s => ({
          manifest: signManifest(w.P.signer, {
            fileId: s.f.fileId,
            name: 'other.ogg',
            size: s.f.size,
            pieceSize: PIECE,
            price: 7,
            createdAt: T0
          })
        })
      ],
      // another piece list: one hash changed, one missing, one too many
      ['otherPieceList', s => ({ pieceHashes: s.comp.pieceHashes.map((h, i) => (i === 2 ? hex() : h)) })],
      ['otherPieceList', s => ({ pieceHashes: s.comp.pieceHashes.slice(0, 3) })],
      ['otherPieceList', s => ({ pieceHashes: [...s.comp.pieceHashes, hex()] })]
    ]
    for (const cheat of [false, true]) {
      for (const [reason, lie] of lies) {
        const s = sale(w, cheat ? { sealed: newPieceKey() } : {})
        const r = w.judge.judge({ ...s.comp, ...lie(s) }, w.D.id)
        const body = checkVerdict(w, s, r, 'invalidComplain', reason)
        assert.equal(body.key, undefined)
      }
    }
    assert.equal(w.judge.t.bans.size, 0)
    assert.equal(w.judge.isBanned(w.P.id), false)
  })

  it('one verdict per cheque: a repeated complaint gets the stored verdict and records nothing', async () => {
    const w = await world()
    const s = sale(w, { sealed: newPieceKey() })
    const r = w.judge.judge(s.comp, w.D.id)
    const before = snapshot(w)
    w.clock.t += 5000
    assert.deepEqual(w.judge.judge(s.comp, w.D.id), r)
    // even with other evidence: the first verdict is final
    assert.deepEqual(w.judge.judge({ ...s.comp, sek: toB64(encryptKeyPiece(s.K, s.f.pieces[1])) }, w.D.id), r)
    assert.equal(snapshot(w), before)

    const h = sale(w)
    const rh = w.judge.judge({ ...h.comp, pieceHashes: h.comp.pieceHashes.slice(1) }, w.D.id)
    const mid = snapshot(w)
    assert.deepEqual(w.judge.judge(h.comp, w.D.id), rh)
    assert.equal(rh.body.reason, 'otherPieceList')
    assert.equal(snapshot(w), mid)
  })

  it('bans expire', async () => {
    const w = await world()
    const s = sale(w, { sealed: newPieceKey() })
    const r = w.judge.judge(s.comp, w.D.id)
    w.clock.t = T0 + BAN_MS - 1
    assert.equal(w.judge.isBanned(w.P.id), true)
    assert.equal(openBan(verifier, r.ban, w.J.id, w.clock.t).body.peer, w.P.id)
    w.clock.t = T0 + BAN_MS
    assert.equal(w.judge.isBanned(w.P.id), false)
    assert.deepEqual(w.judge.activeBans(), [])
    assert.throws(() => openBan(verifier, r.ban, w.J.id, w.clock.t), { code: ErrorCode.EXPIRED })
    // the verdict itself does not expire
    assert.equal(openVerdict(verifier, r.verdict, w.J.id).body.ruling, 'providerBan')
    // a second offence bans again, from now
    const s2 = sale(w, { sealed: newPieceKey() })
    const r2 = w.judge.judge(s2.comp, w.D.id)
    assert.equal(openBan(verifier, r2.ban, w.J.id, w.clock.t).body.until, w.clock.t + BAN_MS)
    assert.equal(w.judge.isBanned(w.P.id), true)
  })

  it("openBan and openVerdict take only the named judge's records", async () => {
    const w = await world()
    const s = sale(w, { sealed: newPieceKey() })
    const r = w.judge.judge(s.comp, w.D.id)
    const ban = openBan(verifier, r.ban, w.J.id, T0).body
    const verdict = openVerdict(verifier, r.verdict, w.J.id).body
    const code = (c: string) => ({ name: 'P2payError', code: c })

    // X signs the judge's very bodies
    assert.throws(
      () => openBan(verifier, b64(w.X.signer.sign<BanBody>(JUDGMENT_TAG.ban, ban, 'test')), w.J.id, T0),
      code(ErrorCode.WRONG_SIGNER)
    )
    assert.throws(
      () => openVerdict(verifier, b64(w.X.signer.sign<VerdictBody>(JUDGMENT_TAG.verdict, verdict, 'test')), w.J.id),
      code(ErrorCode.WRONG_SIGNER)
    )
    // X as a judge of its own
    assert.throws(
      () =>
        openBan(
          verifier,
          b64(w.X.signer.sign<BanBody>(JUDGMENT_TAG.ban, { ...ban, judge: w.X.id }, 'test')),
          w.J.id,
          T0
        ),
      code(ErrorCode.WRONG_BROKER)
    )
    const other = new Judge(judgeTables(), w.X.signer, w.X.x, verifier, { banMs: BAN_MS, now: w.clock.now })
    const s2 = sale(w, { sealed: newPieceKey(), cheque: { judge: w.X.id } })
    const r2 = other.judge(s2.comp, w.D.id)
    assert.equal(r2.body.reason, 'noJudgeKey')
    assert.throws(() => openVerdict(verifier, r2.verdict, w.J.id), code(ErrorCode.WRONG_BROKER))
    assert.throws(() => openBan(verifier, r2.ban, w.J.id, T0), code(ErrorCode.WRONG_BROKER))
    // one record passed off as the other, tampered, or malformed
    assert.throws(() => openBan(verifier, r.verdict, w.J.id, T0), code(ErrorCode.WRONG_TAG))
    assert.throws(() => openVerdict(verifier, r.ban, w.J.id), code(ErrorCode.WRONG_TAG))
    const bytes = fromB64(r.ban!)
    bytes[bytes.length - 70] ^= 1
    assert.throws(() => openBan(verifier, toB64(bytes), w.J.id, T0), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => openBan(verifier, 'AAAA', w.J.id, T0), code(ErrorCode.BAD_FRAME))
    assert.throws(() => openVerdict(verifier, 42, w.J.id), code(ErrorCode.BAD_REQUEST))
    // a verdict whose ruling does not fit its reason, signed by the judge itself
    assert.throws(
      () =>
        openVerdict(
          verifier,
          b64(w.J.signer.sign<VerdictBody>(JUDGMENT_TAG.verdict, { ...verdict, ruling: 'invalidComplain' }, 'test')),
          w.J.id
        ),
      code(ErrorCode.BAD_REQUEST)
    )
    assert.throws(
      () =>
        openVerdict(
          verifier,
          b64(w.J.signer.sign<VerdictBody>(JUDGMENT_TAG.verdict, { ...verdict, key: toHex(s.K) }, 'test')),
          w.J.id
        ),
      code(ErrorCode.BAD_REQUEST)
    )
  })

  it('refuses complaints it cannot judge and leaves its tables unchanged', async () => {
    const w = await world()
    // a verdict already in the tables, so "unchanged" means something
    const done = sale(w, { sealed: newPieceKey() })
    w.judge.judge(done.comp, w.D.id)
    const s = sale(w, { sealed: newPieceKey() })
    const c = s.comp
    const judge =
      (over: Record<string, unknown>, from = w.D.id) =>
      () =>
        w.judge.judge({ ...c, ...over } as Complaint, from)

    rejects(w, () => w.judge.judge(null as unknown as Complaint, w.D.id), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ z: '%%%' }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ sek: '' }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ manifest: 'not base64!' }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ pieceHashes: 'abc' }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ pieceHashes: [] }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ pieceHashes: [...c.pieceHashes.slice(1), 'XYZ'] }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ request: 'AAAA' }), ErrorCode.BAD_FRAME)
    rejects(w, judge({ request: c.cheque }), ErrorCode.WRONG_TAG)
    // not a fixed cheque, or one naming another judge
    const o = sale(w, { form: 'original' })
    rejects(w, () => w.judge.judge(o.comp, w.D.id), ErrorCode.BAD_REQUEST)
    const elsewhere = sale(w, { sealed: newPieceKey(), cheque: { judge: w.X.id } })
    rejects(w, () => w.judge.judge(elsewhere.comp, w.D.id), ErrorCode.WRONG_BROKER)
    // not a real sale: C* not P's, acceptance not D's or of another cheque
    const forged = w.X.signer.sign(FAIREX_TAG.cheque, s.cheque.body, 'test') as Opened<ChequeBody>
    rejects(w, judge({ cheque: b64(forged), accept: b64(acceptCheque(w.D.signer, forged)) }), ErrorCode.WRONG_SIGNER)
    const acceptBody = { cheque: s.cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: s.cheque.body.chequeSn }
    rejects(
      w,
      judge({ accept: b64(w.X.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) }),
      ErrorCode.WRONG_SIGNER
    )
    rejects(w, judge({ accept: done.comp.accept }), ErrorCode.BAD_REQUEST)
    // a complaint from anyone but D: P could otherwise pre-empt D's with a bogus one
    rejects(w, judge({}, w.P.id), ErrorCode.WRONG_SIGNER)
    rejects(w, () => w.judge.judge(done.comp, w.X.id), ErrorCode.WRONG_SIGNER)

    // and D's real complaint still gets its verdict
    assert.equal(w.judge.judge(c, w.D.id).body.ruling, 'providerBan')
  })

  it('refuses a configuration that could not judge', async () => {
    const w = await world()
    assert.throws(
      () => new Judge(judgeTables(), w.J.signer, w.X.x, verifier, { banMs: BAN_MS, now: w.clock.now }),
      TypeError
    )
    assert.throws(
      () => new Judge(judgeTables(), w.J.signer, w.J.x, verifier, { banMs: 0, now: w.clock.now }),
      TypeError
    )
  })
})
