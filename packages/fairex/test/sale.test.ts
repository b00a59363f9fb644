// sale.ts: one purchase, both sides, in memory. Honest sales in both forms give
// D the exact file; the paper's attack (a garbage K' in Z and in 2.4) leaves D
// without the key in both forms, and the fixed form's COMP holds what convicts
// P; every inconsistency D can see makes it refuse before it signs anything;
// P refuses bad requests and certificates with clear codes, and replays.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  Metrics,
  P2payError,
  Verifier,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  toHex,
  type Signer
} from '@p2pay/core'
import { x25519FromEd25519Seed } from '../src/ecies.ts'
import { decryptKeyPiece, keyOpensPiece, newPieceKey, sekHash } from '../src/keypiece.ts'
import { signManifest } from '../src/manifest.ts'
import { merkleProof, merkleRoot, pieceHash } from '../src/merkle.ts'
import {
  FAIREX_TAG,
  acceptCheque,
  openCertificate,
  openCheque,
  openChequeAccept,
  openRequest,
  signCertificate,
  signCheque,
  signRequest,
  type ChequeBody,
  type RequestBody
} from '../src/messages.ts'
import {
  PIECE_MISMATCH,
  acceptRequest,
  chequeMessage,
  complaint,
  disputeBundle,
  onAccept,
  onCheque,
  onChequeAccepted,
  onKey,
  onPiece,
  pieceToSend,
  startPurchase,
  type AcceptRequestInput,
  type Message1_1,
  type Message1_2,
  type Message2_2,
  type ProviderSale,
  type Purchase,
  type SaleForm
} from '../src/sale.ts'
import { openZ } from '../src/zbox.ts'

const backend = nodeEd25519()
const verifier = new Verifier(backend)
const T0 = 1_700_000_000_000
const SKEW = 30_000
const PIECE = 16 * 1024
const PRICE = 12

interface Ident {
  signer: Signer
  id: string
  metrics: Metrics
  x25519: Uint8Array
  unmetered: Signer
}
async function ident(): Promise<Ident> {
  const key = await generateKeyPair('Ed25519')
  const metrics = new Metrics()
  const signer = signerFor(key, backend, metrics)
  // the X25519 key a TTP or judge opens its Z box with
  const x25519 = x25519FromEd25519Seed((key as Ed25519PrivateKey).raw.subarray(0, 32)).privateKey
  // for what a peer signed before the sale (P's manifest), so the counters count the sale alone
  return { signer, id: signer.peerId, metrics, x25519, unmetered: signerFor(key, backend) }
}

const signatures = (who: Ident): number => who.metrics.get('signatures_generated_total')

function throwsCode(fn: () => unknown, code: string, message?: string): P2payError {
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
  if (message !== undefined) assert.equal(caught.message, message)
  return caught
}

/** Asserts D refuses with `code`, without signing and without moving its state. */
function dRefuses(w: World, state: Purchase, fn: () => unknown, code: string, message?: string): void {
  const before = signatures(w.D)
  const snap = { phase: state.phase, next: state.next, paid: state.paid, sek: state.sek }
  throwsCode(fn, code, message)
  assert.equal(signatures(w.D), before, 'D signed something although it refused')
  assert.deepEqual({ phase: state.phase, next: state.next, paid: state.paid, sek: state.sek }, snap)
}

interface World {
  P: Ident
  D: Ident
  D2: Ident
  T: Ident
  J: Ident
  AC: Ident
  X: Ident
  data: Uint8Array
  pieces: Uint8Array[]
  hashes: Uint8Array[]
  fileId: string
  manifest: string
  /** D's capital certificate, base64 */
  cert: string
}

async function world(size = 5 * PIECE + 777): Promise<World> {
  const [P, D, D2, T, J, AC, X] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident(), ident()])
  const data = new Uint8Array(randomBytes(size))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < size; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  const fileId = toHex(merkleRoot(hashes))
  const manifest = signManifest(P.unmetered, {
    fileId,
    name: 'film.bin',
    size,
    pieceSize: PIECE,
    price: PRICE,
    createdAt: T0
  })
  const w = { P, D, D2, T, J, AC, X, data, pieces, hashes, fileId, manifest, cert: '' }
  w.cert = certFor(w, D)
  return w
}

function certFor(
  w: World,
  who: Ident,
  over: { max?: number; expiry?: number; peer?: string; ac?: Ident } = {}
): string {
  const ac = over.ac ?? w.AC
  return toB64(
    signCertificate(ac.signer, {
      ac: ac.id,
      peer: over.peer ?? who.id,
      max: over.max ?? 100,
      expiry: over.expiry ?? T0 + 3_600_000,
      serial: randomId(16)
    }).bytes
  )
}

function start(
  w: World,
  o: { form?: SaleForm; now?: number; manifestHash?: string } = {}
): { state: Purchase; message1_1: Message1_1 } {
  return startPurchase({
    signer: w.D.signer,
    verifier,
    provider: w.P.id,
    fileId: w.fileId,
    price: PRICE,
    ttp: w.T.id,
    judge: w.J.id,
    certificate: w.cert,
    form: o.form,
    manifestHash: o.manifestHash,
    now: o.now ?? T0
  })
}

function accept(
  w: World,
  message1_1: unknown,
  over: Partial<AcceptRequestInput> = {}
): ReturnType<typeof acceptRequest> {
  return acceptRequest({
    signer: w.P.signer,
    verifier,
    manifest: w.manifest,
    pieceHashes: w.hashes,
    message1_1,
    ac: w.AC.id,
    judge: w.J.id,
    ttps: [w.T.id],
    form: 'fixed',
    now: T0 + 500,
    maxSkewMs: SKEW,
    ...over
  })
}

function accepted(r: ReturnType<typeof acceptRequest>): { sale: ProviderSale; message1_2: Message1_2 } {
  assert.ok('sale' in r, `refused: ${JSON.stringify(r)}`)
  return r
}

/** 1.1 and 1.2, then all of 2.1 with D writing plain pieces into `out`. */
function negotiateAndDownload(w: World, form: SaleForm): { state: Purchase; sale: ProviderSale; out: Uint8Array } {
  const { state, message1_1 } = start(w, { form })
  const { sale, message1_2 } = accepted(accept(w, message1_1, { form }))
  onAccept(state, message1_2)
  const out = new Uint8Array(w.data.byteLength)
  w.pieces.forEach((plain, i) => {
    if (onPiece(state, i, pieceToSend(sale, i, plain)) === 'plain') out.set(plain, i * PIECE)
  })
  assert.equal(state.phase, 'awaitingCheque')
  return { state, sale, out }
}

/** A fixed or original sale up to a signed 2.3, with P's key message and deposit item. */
function throughCheque(
  w: World,
  form: SaleForm,
  garbageKey?: Uint8Array
): ReturnType<typeof negotiateAndDownload> & ReturnType<typeof onChequeAccepted> & { message2_2: Message2_2 } {
  const d = negotiateAndDownload(w, form)
  const message2_2 = chequeMessage(d.sale, { now: T0 + 2000, garbageKey })
  const message2_3 = onCheque(d.state, message2_2)
  return { ...d, ...onChequeAccepted(d.sale, message2_3), message2_2 }
}

/**
 * A request and certificate for P's provider-side checks, signed outside startPurchase (which refuses some of them
 * itself).
 */
function message11(w: World, over: Partial<RequestBody> = {}, cert = w.cert, by = w.D): Message1_1 {
  const body: RequestBody = {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    fileId: w.fileId,
    chequeSn: randomId(16),
    ts: T0,
    price: PRICE,
    ...over
  }
  const req = by === w.D ? signRequest(w.D.signer, body) : by.signer.sign(FAIREX_TAG.request, body, 'test')
  return { request: toB64(req.bytes), certificate: cert }
}

/** A copy of `o` without key `k` (as it would arrive: JSON has no undefined). */
function without(o: object, k: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...o }
  delete copy[k]
  return copy
}

function refusedWith(r: ReturnType<typeof acceptRequest>, code: string): string {
  assert.ok('refuse' in r, 'expected a refusal')
  assert.equal(r.refuse.code, code, r.refuse.message)
  return r.refuse.message
}

describe('an honest sale', () => {
  for (const form of ['fixed', 'original'] as const) {
    it(`${form} form: D gets the exact file, P a cheque that deposits; D signs twice, P once`, async () => {
      const w = await world()
      const s = throughCheque(w, form)
      assert.equal(signatures(w.D), 2, 'REQ and the acceptance')
      assert.equal(signatures(w.P), 1, 'the cheque')
      const got = onKey(s.state, s.message2_4.key)
      assert.ok(got.ok)
      s.out.set(got.keyPiece, s.sale.keyIndex * PIECE)
      assert.deepEqual(s.out, w.data)
      assert.equal(s.state.phase, 'done')
      assert.equal(s.sale.phase, 'paid')
      assert.equal(s.message2_4.key, toHex(s.sale.key))

      // the deposit item is what the AC checks
      const cheque = openCheque(verifier, s.deposit.cheque)
      openChequeAccept(verifier, s.deposit.accept, cheque)
      assert.equal(openCertificate(verifier, s.deposit.certificate, w.AC.id).body.peer, w.D.id)
      const c = cheque.body
      assert.equal(c.hSEK, sekHash(s.state.sek!))
      assert.equal(c.z, sha256Hex(fromB64(s.message2_2.z)))
      const parties = { provider: w.P.id, downloader: w.D.id, chequeSn: s.state.req.body.chequeSn }
      const z = fromB64(s.message2_2.z)
      assert.deepEqual(openZ(z, 'ttp', w.T.x25519, parties), s.sale.key)
      if (c.form === 'fixed') {
        assert.deepEqual(
          [c.req, c.certificate, c.judge, c.manifest, c.keyIndex],
          [
            s.state.req.hash,
            openCertificate(verifier, w.cert).hash,
            w.J.id,
            sha256Hex(fromB64(w.manifest)),
            s.sale.keyIndex
          ]
        )
        assert.deepEqual(openZ(z, 'judge', w.J.x25519, parties), s.sale.key)
      } else {
        assert.equal(c.hKP, sha256Hex(w.pieces[s.sale.keyIndex]))
        throwsCode(() => openZ(z, 'judge', w.J.x25519, parties), ErrorCode.BAD_REQUEST) // no judge in the paper's protocol
      }
    })
  }

  it('a one-piece file: the key piece is the whole file', async () => {
    const w = await world(1000)
    const s = throughCheque(w, 'fixed')
    assert.equal(s.sale.keyIndex, 0)
    const got = onKey(s.state, s.message2_4.key)
    assert.ok(got.ok)
    assert.deepEqual(got.keyPiece, w.data)
  })

  it('resends are stable: the key piece encrypts once, the cheque is signed once', async () => {
    const w = await world()
    const { sale, state } = negotiateAndDownload(w, 'fixed')
    const k = sale.keyIndex
    assert.deepEqual(pieceToSend(sale, k, w.pieces[k]), state.sek)
    const m1 = chequeMessage(sale, { now: T0 + 2000 })
    assert.deepEqual(chequeMessage(sale, { now: T0 + 9000 }), m1)
    assert.equal(signatures(w.P), 1)
  })
})

describe("the paper's attack: a garbage K' in Z and in 2.4", () => {
  it("original form: D is paid for nothing; the TTP holds only K', which fails too", async () => {
    const w = await world()
    const Kp = newPieceKey()
    const s = throughCheque(w, 'original', Kp)
    assert.equal(s.message2_4.key, toHex(Kp))
    assert.deepEqual(onKey(s.state, s.message2_4.key), { ok: false })
    assert.equal(s.state.phase, 'dispute')
    // P's deposit item is perfectly valid: P gets paid
    openChequeAccept(verifier, s.deposit.accept, openCheque(verifier, s.deposit.cheque))
    // 3.1: the TTP opens Z and, unable to tell K' from K, would hand out K'
    // (dispute.ts's tests run the TTP itself); that key fails just the same
    const bundle = disputeBundle(s.state)
    const ttpKey = openZ(fromB64(bundle.z), 'ttp', w.T.x25519, {
      provider: w.P.id,
      downloader: w.D.id,
      chequeSn: openRequest(verifier, bundle.request).body.chequeSn
    })
    assert.deepEqual(ttpKey, Kp)
    assert.deepEqual(onKey(s.state, toHex(ttpKey)), { ok: false })
    // and there is no judge to go to
    throwsCode(() => complaint(s.state), ErrorCode.BAD_REQUEST)
  })

  it('fixed form: the same attack leaves D without the key, but its COMP convicts P', async () => {
    const w = await world()
    const Kp = newPieceKey()
    const s = throughCheque(w, 'fixed', Kp)
    assert.deepEqual(onKey(s.state, s.message2_4.key), { ok: false })
    const comp = complaint(s.state)
    // what a judge checks (judgment.ts): everything signed and consistent, and its own box opens SEK(KP) to garbage
    const cheque = openCheque(verifier, comp.cheque)
    openChequeAccept(verifier, comp.accept, cheque)
    assert.equal(cheque.body.form, 'fixed')
    assert.ok(cheque.body.form === 'fixed' && cheque.body.req === openRequest(verifier, comp.request).hash)
    const judgeKey = openZ(fromB64(comp.z), 'judge', w.J.x25519, {
      provider: w.P.id,
      downloader: w.D.id,
      chequeSn: cheque.body.chequeSn
    })
    assert.deepEqual(judgeKey, Kp)
    const hashes = comp.pieceHashes.map(h => new Uint8Array(Buffer.from(h, 'hex')))
    const sek = fromB64(comp.sek)
    assert.equal(sekHash(sek), cheque.body.hSEK)
    const k = cheque.body.form === 'fixed' ? cheque.body.keyIndex : -1
    const check = (key: Uint8Array): boolean =>
      keyOpensPiece(merkleRoot(hashes), k, hashes.length, key, sek, merkleProof(hashes, k))
    assert.equal(check(judgeKey), false)
    assert.equal(check(s.sale.key), true, "the real K opens it: the fault is P's")
    assert.deepEqual(decryptKeyPiece(s.sale.key, sek), w.pieces[k])
    assert.equal(comp.manifest, w.manifest)
  })

  it('a malformed key is a bad key; a later good one (from the TTP) still completes the purchase', async () => {
    const w = await world()
    const s = throughCheque(w, 'fixed')
    for (const bad of [undefined, 42, 'zz', s.message2_4.key.toUpperCase(), s.message2_4.key.slice(2)])
      assert.deepEqual(onKey(s.state, bad), { ok: false })
    assert.equal(s.state.phase, 'dispute')
    assert.ok(onKey(s.state, s.message2_4.key).ok)
    throwsCode(() => complaint(s.state), ErrorCode.BAD_REQUEST, 'purchase is done, not awaitingKey or dispute')
  })
})

describe('D refuses before it signs', () => {
  it('a plain piece that does not hash to its leaf, a short or long piece, a piece out of order', async () => {
    const w = await world()
    const { state, message1_1 } = start(w)
    const { sale, message1_2 } = accepted(accept(w, message1_1))
    onAccept(state, message1_2)
    // the first plain piece (after the key piece, when that is piece 0)
    const i = sale.keyIndex === 0 ? 1 : 0
    if (i === 1) onPiece(state, 0, pieceToSend(sale, 0, w.pieces[0]))
    const bad = w.pieces[i].slice()
    bad[100] ^= 1
    dRefuses(w, state, () => onPiece(state, i, bad), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
    dRefuses(w, state, () => onPiece(state, i, w.pieces[i].subarray(1)), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
    dRefuses(w, state, () => onPiece(state, i, w.pieces[i + 1]), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
    dRefuses(w, state, () => onPiece(state, i + 1, w.pieces[i + 1]), ErrorCode.BAD_REQUEST)
    // before all pieces
    dRefuses(w, state, () => onCheque(state, chequeMessage(sale, { now: T0 })), ErrorCode.BAD_REQUEST)
  })

  it('P will not send a piece that changed on disk, nor a cheque before the key piece', async () => {
    const w = await world()
    const { sale } = accepted(accept(w, start(w).message1_1))
    const k = sale.keyIndex
    const changed = w.pieces[k].slice()
    changed[0] ^= 1
    throwsCode(() => pieceToSend(sale, k, changed), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
    throwsCode(() => pieceToSend(sale, w.pieces.length, w.pieces[0]), ErrorCode.BAD_REQUEST)
    throwsCode(() => chequeMessage(sale, { now: T0 }), ErrorCode.BAD_REQUEST)
    assert.equal(sale.sek, undefined)
    assert.equal(signatures(w.P), 0)
  })

  it('an encrypted key piece changed in transit: hSEK does not match, D signs nothing', async () => {
    const w = await world()
    const { state, message1_1 } = start(w)
    const { sale, message1_2 } = accepted(accept(w, message1_1))
    onAccept(state, message1_2)
    w.pieces.forEach((plain, i) => {
      const sent = pieceToSend(sale, i, plain)
      onPiece(state, i, i === sale.keyIndex ? Uint8Array.from(sent, (b, j) => (j === 20 ? b ^ 1 : b)) : sent)
    })
    dRefuses(
      w,
      state,
      () => onCheque(state, chequeMessage(sale, { now: T0 + 2000 })),
      ErrorCode.BAD_REQUEST,
      'cheque hSEK does not match the encrypted key piece'
    )
  })

  for (const form of ['fixed', 'original'] as const) {
    it(`${form} form: a cheque that does not commit to what D holds, or is not P's`, async () => {
      const w = await world()
      const { state, sale } = negotiateAndDownload(w, form)
      const honest = chequeMessage(sale, { now: T0 + 2000 })
      const body = openCheque(verifier, honest.cheque).body
      const resign = (over: Record<string, unknown>, by = w.P): Message2_2 => ({
        cheque: toB64(by.signer.sign(FAIREX_TAG.cheque, { ...body, ...over }, 'test').bytes),
        z: honest.z
      })
      const other = sha256Hex(randomBytes(8))
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ price: PRICE - 1 }, ErrorCode.BAD_REQUEST],
        [{ chequeSn: randomId(16) }, ErrorCode.BAD_REQUEST],
        [{ ttp: w.X.id }, ErrorCode.BAD_REQUEST],
        [{ ts: T0 - 1 }, ErrorCode.BAD_REQUEST],
        [{ hSEK: other }, ErrorCode.BAD_REQUEST],
        [{ z: other }, ErrorCode.BAD_REQUEST]
      ]
      if (form === 'fixed') {
        cases.push(
          [{ req: other }, ErrorCode.BAD_REQUEST],
          [{ certificate: openCertificate(verifier, certFor(w, w.D)).hash }, ErrorCode.BAD_REQUEST],
          [{ judge: w.X.id }, ErrorCode.BAD_REQUEST],
          [{ manifest: other }, ErrorCode.BAD_REQUEST],
          [{ keyIndex: (sale.keyIndex + 1) % w.pieces.length }, ErrorCode.BAD_REQUEST],
          [{ keyIndex: w.pieces.length + 5 }, ErrorCode.BAD_REQUEST],
          [{ keyIndex: -1 }, ErrorCode.BAD_REQUEST],
          [
            {
              form: 'original',
              hKP: other,
              req: undefined,
              certificate: undefined,
              judge: undefined,
              manifest: undefined,
              keyIndex: undefined
            },
            ErrorCode.BAD_REQUEST
          ]
        )
      } else {
        cases.push(
          [{ hKP: other }, ErrorCode.BAD_REQUEST],
          [
            {
              form: 'fixed',
              hKP: undefined,
              req: state.req.hash,
              certificate: openCertificate(verifier, w.cert).hash,
              judge: w.J.id,
              manifest: sha256Hex(fromB64(w.manifest)),
              keyIndex: sale.keyIndex
            },
            ErrorCode.BAD_REQUEST
          ]
        )
      }
      for (const [over, code] of cases) dRefuses(w, state, () => onCheque(state, resign(over)), code)
      // Z other than the one P signed; a cheque signed by someone else; junk
      dRefuses(
        w,
        state,
        () => onCheque(state, { ...honest, z: toB64(randomBytes(300)) }),
        ErrorCode.BAD_REQUEST,
        'cheque z does not match Z'
      )
      dRefuses(w, state, () => onCheque(state, resign({}, w.X)), ErrorCode.WRONG_SIGNER)
      dRefuses(w, state, () => onCheque(state, { ...honest, z: '' }), ErrorCode.BAD_REQUEST)
      dRefuses(w, state, () => onCheque(state, { cheque: honest.cheque }), ErrorCode.BAD_REQUEST)
      // and the honest one is signed
      onCheque(state, honest)
      assert.equal(state.phase, 'awaitingKey')
    })
  }

  it('a 1.2 that is not the file, price, provider, judge or form D asked for', async () => {
    const w = await world()
    const mh = sha256Hex(fromB64(w.manifest))
    const { state, message1_1 } = start(w, { form: 'fixed', manifestHash: mh })
    const { message1_2 } = accepted(accept(w, message1_1))
    const other = await world()
    const byX = signManifest(w.X.signer, {
      fileId: w.fileId,
      name: 'film.bin',
      size: w.data.byteLength,
      pieceSize: PIECE,
      price: PRICE,
      createdAt: T0
    })
    const dearer = signManifest(w.P.signer, {
      fileId: w.fileId,
      name: 'film.bin',
      size: w.data.byteLength,
      pieceSize: PIECE,
      price: PRICE + 1,
      createdAt: T0
    })
    const renamed = signManifest(w.P.signer, {
      fileId: w.fileId,
      name: 'other.bin',
      size: w.data.byteLength,
      pieceSize: PIECE,
      price: PRICE,
      createdAt: T0
    })
    const flipped = message1_2.pieceHashes.slice()
    flipped[1] = sha256Hex(randomBytes(8))
    const cases: Array<[unknown, string]> = [
      [{ ...message1_2, manifest: byX }, ErrorCode.WRONG_SIGNER],
      [{ ...message1_2, manifest: dearer }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, manifest: renamed }, ErrorCode.BAD_REQUEST], // not the manifest D chose
      [{ ...message1_2, manifest: other.manifest }, ErrorCode.WRONG_SIGNER],
      [{ ...message1_2, pieceHashes: flipped }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, pieceHashes: message1_2.pieceHashes.slice(1) }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, pieceHashes: [...message1_2.pieceHashes, message1_2.pieceHashes[0]] }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, keyIndex: w.pieces.length }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, keyIndex: -1 }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, keyIndex: '0' }, ErrorCode.BAD_REQUEST],
      [{ ...message1_2, judge: w.X.id }, ErrorCode.BAD_REQUEST],
      [without(message1_2, 'judge'), ErrorCode.BAD_REQUEST],
      [{ ...message1_2, extra: 1 }, ErrorCode.BAD_REQUEST],
      [null, ErrorCode.BAD_REQUEST]
    ]
    for (const [m, code] of cases) dRefuses(w, state, () => onAccept(state, m), code)
    // a well-formed original-form offer: this D takes the fixed form only
    dRefuses(
      w,
      state,
      () => onAccept(state, { ...without(message1_2, 'judge'), form: 'original' }),
      ErrorCode.BAD_REQUEST,
      'provider offers the original protocol, this purchase takes fixed only'
    )
    assert.equal(state.phase, 'requested')
    // without a manifest hash to pin it, a manifest of the same file is judged on its content
    const loose = start(w, { form: 'fixed' }).state
    const m12 = accepted(accept(w, message1_1)).message1_2
    dRefuses(
      w,
      loose,
      () => onAccept(loose, { ...m12, manifest: dearer }),
      ErrorCode.BAD_REQUEST,
      `manifest price ${PRICE + 1} is not the requested ${PRICE}`
    )
    onAccept(loose, { ...m12, manifest: renamed })
    onAccept(state, message1_2)
    assert.equal(state.phase, 'downloading')
    dRefuses(w, state, () => onAccept(state, message1_2), ErrorCode.BAD_REQUEST) // once
  })

  it('D does not sign a request its own certificate cannot back', async () => {
    const w = await world()
    const cases: Array<[string, string]> = [
      [certFor(w, w.D, { expiry: T0 - 1 }), ErrorCode.EXPIRED],
      [certFor(w, w.D, { max: PRICE - 1 }), ErrorCode.INSUFFICIENT_FUNDS],
      [certFor(w, w.D2), ErrorCode.WRONG_OWNER],
      ['not base64!', ErrorCode.BAD_REQUEST]
    ]
    for (const [certificate, code] of cases) {
      throwsCode(
        () =>
          startPurchase({
            signer: w.D.signer,
            verifier,
            provider: w.P.id,
            fileId: w.fileId,
            price: PRICE,
            ttp: w.T.id,
            judge: w.J.id,
            certificate,
            now: T0
          }),
        code
      )
    }
    throwsCode(() => start(w, { manifestHash: 'abc' }), ErrorCode.BAD_REQUEST)
    throwsCode(
      () =>
        startPurchase({
          signer: w.D.signer,
          verifier,
          provider: w.D.id,
          fileId: w.fileId,
          price: PRICE,
          ttp: w.T.id,
          judge: w.J.id,
          certificate: w.cert,
          now: T0
        }),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(
      () =>
        startPurchase({
          signer: w.D.signer,
          verifier,
          provider: w.P.id,
          fileId: w.fileId,
          price: PRICE,
          ttp: w.T.id,
          judge: 'nobody',
          certificate: w.cert,
          now: T0
        }),
      ErrorCode.BAD_REQUEST
    )
    assert.equal(signatures(w.D), 0)
  })
})

describe('P refuses a bad request (message 1.2 refuse)', () => {
  it(
    'another file, another price, another provider, an unaccepted TTP, a ' + 'stale or future request, a forged one',
    async () => {
      const w = await world()
      refusedWith(accept(w, message11(w, { fileId: sha256Hex(randomBytes(8)) })), ErrorCode.NOT_FOUND)
      const priced = accept(w, message11(w, { price: PRICE - 1 }))
      refusedWith(priced, ErrorCode.BAD_REQUEST)
      assert.match(('refuse' in priced && priced.refuse.message) || '', /price 11 is not the price 12/)
      refusedWith(accept(w, message11(w, { price: PRICE + 1 })), ErrorCode.BAD_REQUEST)
      refusedWith(accept(w, message11(w, { provider: w.X.id })), ErrorCode.BAD_REQUEST)
      refusedWith(accept(w, message11(w), { ttps: [w.X.id] }), ErrorCode.BAD_REQUEST)
      accepted(accept(w, message11(w), { ttps: [w.X.id, w.T.id] }))
      refusedWith(accept(w, message11(w, { ts: T0 + 500 - SKEW - 1 })), ErrorCode.EXPIRED)
      refusedWith(accept(w, message11(w, { ts: T0 + 500 + SKEW + 1 })), ErrorCode.BAD_REQUEST)
      refusedWith(accept(w, message11(w, {}, w.cert, w.X)), ErrorCode.WRONG_SIGNER)
      const req = fromB64(message11(w).request)
      req[req.byteLength - 1] ^= 1
      refusedWith(accept(w, { request: toB64(req), certificate: w.cert }), ErrorCode.BAD_SIGNATURE)
      for (const junk of [null, 'x', {}, { request: 'x', certificate: w.cert }, { ...message11(w), extra: 1 }])
        refusedWith(accept(w, junk), ErrorCode.BAD_REQUEST)
      assert.equal(signatures(w.P), 0)
    }
  )

  it("an expired certificate, one below the price, another peer's, another AC's, a forged one", async () => {
    const w = await world()
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { expiry: T0 }))), ErrorCode.EXPIRED)
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { max: PRICE - 1 }))), ErrorCode.INSUFFICIENT_FUNDS)
    accepted(accept(w, message11(w, {}, certFor(w, w.D, { max: PRICE }))))
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D2))), ErrorCode.WRONG_OWNER)
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { ac: w.X }))), ErrorCode.WRONG_BROKER)
    const forged = toB64(
      w.X.signer.sign(
        FAIREX_TAG.capitalCert,
        { ac: w.AC.id, peer: w.D.id, max: 100, expiry: T0 + 60_000, serial: randomId(16) },
        'test'
      ).bytes
    )
    refusedWith(accept(w, message11(w, {}, forged)), ErrorCode.WRONG_SIGNER)
    refusedWith(accept(w, message11(w, {}, message11(w).request)), ErrorCode.WRONG_TAG)
  })

  it("P's own inconsistent inputs throw instead: they are not D's fault", async () => {
    const w = await world()
    const m = message11(w)
    throwsCode(() => accept(w, m, { pieceHashes: w.hashes.slice(1) }), ErrorCode.BAD_REQUEST)
    throwsCode(() => accept(w, m, { pieceHashes: [...w.hashes].reverse() }), ErrorCode.BAD_REQUEST)
    throwsCode(
      () =>
        accept(w, m, {
          manifest: signManifest(w.X.signer, {
            fileId: w.fileId,
            name: 'f',
            size: w.data.byteLength,
            pieceSize: PIECE,
            price: PRICE,
            createdAt: T0
          })
        }),
      ErrorCode.WRONG_SIGNER
    )
    throwsCode(() => accept(w, m, { judge: 'nobody' }), ErrorCode.BAD_REQUEST)
    throwsCode(() => accept(w, m, { form: 'other' as SaleForm }), ErrorCode.BAD_REQUEST)
  })

  it(
    'replay: the service remembers accepted serials per downloader, and ' + 'forgets them once the request is stale',
    async () => {
      const w = await world()
      // the service's table (in LevelDB, written with the sale): chequeKey(downloader, chequeSn)
      const seen = new Set<string>()
      const service = (m: unknown, now = T0 + 500): ReturnType<typeof acceptRequest> => {
        const r = accept(w, m, { seen: k => seen.has(k), now })
        if ('sale' in r) seen.add(r.sale.serial)
        return r
      }
      const first = message11(w)
      const { sale } = accepted(service(first))
      assert.equal(sale.serial, `${w.D.id}|${sale.req.body.chequeSn}`)
      // the same 1.1 again, and a fresh request that reuses the serial
      refusedWith(service(first), ErrorCode.REPLAY)
      refusedWith(service(message11(w, { chequeSn: sale.req.body.chequeSn, ts: T0 + 100 })), ErrorCode.REPLAY)
      // serials are the downloader's own: another downloader may pick the same one
      accepted(service(message11(w, { downloader: w.D2.id, chequeSn: sale.req.body.chequeSn }, certFor(w, w.D2), w.D2)))
      // a request older than the skew window is stale whatever the table says, so the service
      // need keep a serial only until its request ts + maxSkewMs
      seen.clear()
      refusedWith(service(first, T0 + SKEW + 1), ErrorCode.EXPIRED)
      accepted(service(first))
    }
  )
})

describe('P checks 2.3', () => {
  it('an acceptance of another cheque, or not signed by D, gets no key', async () => {
    const w = await world()
    const { state, sale } = negotiateAndDownload(w, 'fixed')
    throwsCode(() => onChequeAccepted(sale, { accept: 'AAAA' }), ErrorCode.BAD_REQUEST) // no cheque yet
    const m22 = chequeMessage(sale, { now: T0 + 2000 })
    const cheque = openCheque(verifier, m22.cheque)
    const otherBody = { ...cheque.body, price: PRICE + 1 } as ChequeBody
    const other = signCheque(w.P.signer, otherBody)
    throwsCode(
      () => onChequeAccepted(sale, { accept: toB64(acceptCheque(w.D.signer, other).bytes) }),
      ErrorCode.BAD_REQUEST
    )
    const byX = w.X.signer.sign(
      FAIREX_TAG.chequeAccept,
      { cheque: cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: cheque.body.chequeSn },
      'test'
    )
    throwsCode(() => onChequeAccepted(sale, { accept: toB64(byX.bytes) }), ErrorCode.WRONG_SIGNER)
    throwsCode(() => onChequeAccepted(sale, {}), ErrorCode.BAD_REQUEST)
    assert.equal(sale.phase, 'chequeSent')
    const { message2_4 } = onChequeAccepted(sale, onCheque(state, m22))
    assert.ok(onKey(state, message2_4.key).ok)
  })
})
