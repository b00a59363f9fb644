// dispute.ts: the TTP of the dispute phase (3.1-3.3). An honest dispute gives D
// the key and queues the countersigned cheque for P; the paper's attack on the
// original protocol (P seals a garbage K' into Z) goes through, because the TTP
// cannot check K; every refusal leaves the TTP's tables unchanged.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  P2payError,
  memoryTables,
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
import { Ttp, type DisputeBundle } from '../src/core/dispute.ts'
import { DISPUTE_TABLES } from '../src/net/tables.ts'
import { rejects as rejectsTables, snapshot as snapshotTables } from '@p2pay/test-utils'
import { x25519FromEd25519Seed } from '../src/core/ecies.ts'
import { decryptKeyPiece, encryptKeyPiece, keyOpensPiece, newPieceKey, sekHash } from '../src/core/keypiece.ts'
import { signManifest } from '../src/core/manifest.ts'
import { merkleProof, merkleRoot, pieceHash } from '../src/core/merkle.ts'
import {
  FAIREX_TAG,
  acceptCheque,
  signCertificate,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/core/messages.ts'
import { sealZ, zHash } from '../src/core/zbox.ts'

const verifier = new Verifier(nodeEd25519())
const T0 = 1_700_000_000_000
const PIECE = 16 * 1024

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

interface World {
  T: Ident
  J: Ident
  P: Ident
  D: Ident
  X: Ident
  AC: Ident
  ttp: Ttp
}

async function world(): Promise<World> {
  const [T, J, P, D, X, AC] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident()])
  const t = memoryTables(DISPUTE_TABLES)
  return { T, J, P, D, X, AC, ttp: new Ttp(t, T.id, T.x, verifier) }
}

const b64 = (o: Opened<unknown>): string => toB64(o.bytes)

/** A 4-piece file (short last piece): what P sells. */
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
  keyIndex: number
  sek: Uint8Array
  z: Uint8Array
  req: Opened<RequestBody>
  cheque: Opened<ChequeBody>
  accept: Opened<unknown>
  cert: Opened<unknown>
  bundle: DisputeBundle
}

/**
 * Messages 1.1 to 2.3 of one sale, as the parties sign them. `sealed` is what P
 * puts in Z: K for an honest provider, a garbage K' for the paper's attack.
 */
function sale(
  w: World,
  o: { form: 'original' | 'fixed'; sealed?: Uint8Array; ttp?: string; cheque?: Partial<ChequeBody> }
): Sale {
  const f = file()
  const K = newPieceKey()
  const keyIndex = 2
  const sek = encryptKeyPiece(K, f.pieces[keyIndex])
  const price = 7
  const cert = signCertificate(w.AC.signer, {
    ac: w.AC.id,
    peer: w.D.id,
    max: 100,
    expiry: T0 + 60_000,
    serial: randomId(8)
  })
  const req = signRequest(w.D.signer, {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: o.ttp ?? w.T.id,
    fileId: f.fileId,
    chequeSn: randomId(8),
    ts: T0,
    price
  })
  const parties = { provider: w.P.id, downloader: w.D.id, chequeSn: req.body.chequeSn }
  const z = sealZ(o.sealed ?? K, parties, o.form === 'fixed' ? { ttp: w.T.id, judge: w.J.id } : { ttp: w.T.id })
  const common = {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: req.body.ttp,
    chequeSn: req.body.chequeSn,
    price,
    ts: T0 + 5,
    hSEK: sekHash(sek),
    z: zHash(z)
  }
  const manifest = signManifest(w.P.signer, {
    fileId: f.fileId,
    name: 'song.ogg',
    size: f.size,
    pieceSize: PIECE,
    price,
    createdAt: T0 - 1000
  })
  const body: ChequeBody =
    o.form === 'original'
      ? ({ form: 'original', ...common, hKP: toHex(pieceHash(f.pieces[keyIndex])), ...o.cheque } as OriginalChequeBody)
      : ({
          form: 'fixed',
          ...common,
          req: req.hash,
          certificate: cert.hash,
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
    keyIndex,
    sek,
    z,
    req,
    cheque,
    accept,
    cert,
    bundle: { request: b64(req), cheque: b64(cheque), accept: b64(accept), z: toB64(z), certificate: b64(cert) }
  }
}

/** Does `key` open the sale's key piece against the file id? D's own check after 2.4 or 3.2. */
function opens(s: Sale, key: Uint8Array): boolean {
  return keyOpensPiece(
    new Uint8Array(Buffer.from(s.f.fileId, 'hex')),
    s.keyIndex,
    s.f.pieces.length,
    key,
    s.sek,
    merkleProof(s.f.hashes, s.keyIndex)
  )
}

const snapshot = (w: World): string => snapshotTables(w.ttp.t)

/** Asserts `fn` throws `code` and that no table changed. */
const rejects = (w: World, fn: () => unknown, code: string): P2payError => rejectsTables(w.ttp.t, fn, code)

describe('TTP: dispute resolution (3.1-3.3)', () => {
  for (const form of ['original', 'fixed'] as const) {
    it(
      `resolves an honest ${form} dispute: D gets K that opens ` + `the piece, P gets the countersigned cheque`,
      async () => {
        const w = await world()
        const s = sale(w, { form })
        const r = w.ttp.resolve(s.bundle, T0 + 100)
        assert.equal(r.dispute, s.cheque.hash)
        assert.equal(r.key, toHex(s.K))
        assert.equal(r.form, form)
        assert.equal(opens(s, Buffer.from(r.key, 'hex')), true)

        const rec = w.ttp.dispute(r.dispute)!
        assert.equal(rec.provider, w.P.id)
        assert.equal(rec.request, s.req.hash)
        assert.equal(rec.at, T0 + 100)
        const q = w.ttp.pendingFor(w.P.id)
        assert.equal(q.length, 1)
        assert.equal(q[0].cheque, s.bundle.cheque)
        assert.equal(q[0].accept, s.bundle.accept)
        assert.equal(q[0].certificate, s.bundle.certificate)
        assert.deepEqual(w.ttp.pendingFor(w.D.id), [])
        assert.deepEqual(w.ttp.t.meta.get('meta'), { disputes: 1, delivered: 0 })

        assert.deepEqual(w.ttp.delivered(w.P.id, [r.dispute], T0 + 200), { delivered: [r.dispute] })
        assert.deepEqual(w.ttp.pendingFor(w.P.id), [])
        assert.equal(w.ttp.dispute(r.dispute)!.delivered, T0 + 200)
        assert.deepEqual(w.ttp.t.meta.get('meta'), { disputes: 1, delivered: 1 })
        // a retry after a lost reply changes nothing; the key is still D's answer
        const before = snapshot(w)
        assert.deepEqual(w.ttp.delivered(w.P.id, [r.dispute], T0 + 300), { delivered: [] })
        assert.equal(snapshot(w), before)
        assert.deepEqual(w.ttp.resolve(s.bundle, T0 + 400), r)
        assert.equal(snapshot(w), before)
      }
    )
  }

  it(
    "the paper's attack on the original protocol: P seals K', " + "the TTP hands out K' and P still gets paid",
    async () => {
      const w = await world()
      const Kx = newPieceKey()
      const s = sale(w, { form: 'original', sealed: Kx })
      assert.equal(opens(s, s.K), true, 'the piece was encrypted under K')
      const r = w.ttp.resolve(s.bundle, T0 + 100)
      // the TTP cannot tell: it hands out whatever P sealed
      assert.equal(r.key, toHex(Kx))
      const got = Buffer.from(r.key, 'hex')
      assert.equal(opens(s, got), false)
      assert.notDeepEqual(pieceHash(decryptKeyPiece(got, s.sek)), s.f.hashes[s.keyIndex])
      // and still forwards P's countersigned cheque: P is paid, D has no file
      const q = w.ttp.pendingFor(w.P.id)
      assert.equal(q.length, 1)
      assert.equal(q[0].id, s.cheque.hash)
      assert.equal(q[0].cheque, s.bundle.cheque)
      assert.equal(q[0].accept, s.bundle.accept)
    }
  )

  it('a repeated dispute returns the same answer and records nothing', async () => {
    const w = await world()
    const s = sale(w, { form: 'fixed' })
    const r = w.ttp.resolve(s.bundle, T0 + 100)
    const before = snapshot(w)
    assert.deepEqual(w.ttp.resolve(s.bundle, T0 + 999), r)
    // a dispute without the downloader's certificate gets no key: P could not deposit the cheque
    const { certificate: _, ...noCert } = s.bundle
    assert.throws(
      () => w.ttp.resolve(noCert, T0 + 1000),
      (e: any) => e.code === ErrorCode.BAD_REQUEST
    )
    assert.equal(snapshot(w), before)
    assert.equal(w.ttp.pendingFor(w.P.id).length, 1)
  })

  it('keeps one queue per provider, oldest first', async () => {
    const w = await world()
    const a = sale(w, { form: 'fixed' })
    const b = sale(w, { form: 'original' })
    w.ttp.resolve(b.bundle, T0 + 200)
    w.ttp.resolve(a.bundle, T0 + 100)
    assert.deepEqual(
      w.ttp.pendingFor(w.P.id).map(p => p.id),
      [a.cheque.hash, b.cheque.hash]
    )
    assert.deepEqual(
      w.ttp.pendingFor(w.P.id, 1).map(p => p.id),
      [a.cheque.hash]
    )
    assert.deepEqual(w.ttp.delivered(w.P.id, [b.cheque.hash, b.cheque.hash], T0 + 300), { delivered: [b.cheque.hash] })
    assert.deepEqual(
      w.ttp.pendingFor(w.P.id).map(p => p.id),
      [a.cheque.hash]
    )
  })

  it('refuses bad bundles and leaves its tables unchanged', async () => {
    const w = await world()
    const s = sale(w, { form: 'fixed' })
    const o = sale(w, { form: 'original' })
    const bundle = s.bundle
    const at = T0 + 100
    const resolve = (b: Partial<DisputeBundle> & Record<string, unknown>) => () =>
      w.ttp.resolve({ ...bundle, ...b } as DisputeBundle, at)
    // a previous dispute in the tables, so "unchanged" means something
    w.ttp.resolve(o.bundle, at)

    rejects(w, () => w.ttp.resolve(null as unknown as DisputeBundle, at), ErrorCode.BAD_REQUEST)
    rejects(w, resolve({ z: '%%%' }), ErrorCode.BAD_REQUEST)
    rejects(w, resolve({ cheque: 'AAAA' }), ErrorCode.BAD_FRAME)
    rejects(w, () => w.ttp.resolve(bundle, -1), ErrorCode.BAD_REQUEST)

    // a cheque P did not sign (X signs P's cheque body)
    const forged = w.X.signer.sign(FAIREX_TAG.cheque, s.cheque.body, 'test')
    rejects(
      w,
      resolve({ cheque: b64(forged), accept: b64(acceptCheque(w.D.signer, forged as Opened<ChequeBody>)) }),
      ErrorCode.WRONG_SIGNER
    )
    // an acceptance by someone other than D, or of another cheque
    rejects(
      w,
      resolve({ accept: b64(w.X.signer.sign(FAIREX_TAG.chequeAccept, s.accept.body, 'test')) }),
      ErrorCode.WRONG_SIGNER
    )
    rejects(w, resolve({ accept: o.bundle.accept }), ErrorCode.BAD_REQUEST)
    // a REQ not signed by D, and a REQ' the fixed cheque does not sign
    rejects(
      w,
      resolve({ request: b64(w.X.signer.sign(FAIREX_TAG.request, s.req.body, 'test')) }),
      ErrorCode.WRONG_SIGNER
    )
    const reqX = signRequest(w.D.signer, { ...s.req.body, fileId: sha256Hex(randomBytes(8)) })
    rejects(w, resolve({ request: b64(reqX) }), ErrorCode.BAD_REQUEST)
    // original form: a REQ whose copied fields differ
    const reqO = signRequest(w.D.signer, { ...o.req.body, price: o.req.body.price + 1 })
    rejects(w, () => w.ttp.resolve({ ...o.bundle, request: b64(reqO) }, at), ErrorCode.BAD_REQUEST)
    // a Z other than the one P signed (D made its own)
    const zD = sealZ(
      newPieceKey(),
      { provider: w.P.id, downloader: w.D.id, chequeSn: s.req.body.chequeSn },
      { ttp: w.T.id, judge: w.J.id }
    )
    rejects(w, resolve({ z: toB64(zD) }), ErrorCode.BAD_REQUEST)
    // a certificate of another peer, or not the one C* names
    const certX = signCertificate(w.AC.signer, {
      ac: w.AC.id,
      peer: w.X.id,
      max: 100,
      expiry: T0 + 60_000,
      serial: randomId(8)
    })
    rejects(w, resolve({ certificate: b64(certX) }), ErrorCode.WRONG_OWNER)
    rejects(w, resolve({ certificate: o.bundle.certificate }), ErrorCode.BAD_REQUEST)
    // a sale that names another TTP
    const other = sale(w, { form: 'fixed', ttp: w.X.id })
    rejects(w, () => w.ttp.resolve(other.bundle, at), ErrorCode.WRONG_BROKER)
    // P signed a Z whose TTP box is sealed to someone else: nothing to give D
    const sealedAway = sale(w, { form: 'original' })
    const zAway = sealZ(
      sealedAway.K,
      { provider: w.P.id, downloader: w.D.id, chequeSn: sealedAway.req.body.chequeSn },
      { ttp: w.X.id }
    )
    const chequeAway = signCheque(w.P.signer, { ...sealedAway.cheque.body, z: zHash(zAway) })
    rejects(
      w,
      () =>
        w.ttp.resolve(
          {
            ...sealedAway.bundle,
            z: toB64(zAway),
            cheque: b64(chequeAway),
            accept: b64(acceptCheque(w.D.signer, chequeAway))
          },
          at
        ),
      ErrorCode.BAD_SIGNATURE
    )

    // delivery: only ids queued for this provider
    rejects(w, () => w.ttp.delivered(w.P.id, [], at), ErrorCode.BAD_REQUEST)
    rejects(w, () => w.ttp.delivered(w.P.id, ['nope'], at), ErrorCode.BAD_REQUEST)
    rejects(w, () => w.ttp.delivered(w.P.id, [s.cheque.hash], at), ErrorCode.NOT_FOUND)
    rejects(w, () => w.ttp.delivered(w.X.id, [o.cheque.hash], at), ErrorCode.NOT_FOUND)
    // one unknown id refuses the whole call
    rejects(w, () => w.ttp.delivered(w.P.id, [o.cheque.hash, s.cheque.hash], at), ErrorCode.NOT_FOUND)

    // and the good bundle still goes through
    assert.equal(w.ttp.resolve(bundle, at).key, toHex(s.K))
  })

  it("refuses an X25519 key that is not the TTP's", async () => {
    const w = await world()
    const t = memoryTables(DISPUTE_TABLES)
    assert.throws(() => new Ttp(t, w.T.id, w.X.x, verifier), TypeError)
  })
})
