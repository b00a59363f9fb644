// The purchase protocol's steps, both sides, in memory. Honest sales in both
// forms give D the exact file; a key that does not open the key piece leaves D
// in dispute; every inconsistency D can see makes it refuse before it signs
// anything. The provider's refusals: sale-provider.test.ts; the paper's attack: cheats.test.ts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ErrorCode, fromB64, randomId, sha256Hex, toB64, toHex } from '@p2pay/core'
import { sekHash } from '../src/core/keypiece.ts'
import { signManifest } from '../src/core/manifest.ts'
import { FAIREX_TAG, openCertificate, openCheque, openChequeAccept } from '../src/core/messages.ts'
import { PIECE_MISMATCH, type Message2_2 } from '../src/core/sale-messages.ts'
import { chequeMessage, pieceToSend } from '../src/core/sale-provider.ts'
import { complaint, onAccept, onCheque, onKey, onPiece, startPurchase } from '../src/core/sale-downloader.ts'
import { throwsCode } from '@p2pay/test-utils'
import { openZ } from '../src/core/zbox.ts'
import {
  verifier,
  T0,
  PIECE,
  PRICE,
  signatures,
  dRefuses,
  world,
  certFor,
  start,
  accept,
  accepted,
  negotiateAndDownload,
  throughCheque,
  without
} from './sale-fixtures.ts'

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
        // no judge in the paper's protocol
        throwsCode(() => openZ(z, 'judge', w.J.x25519, parties), ErrorCode.BAD_REQUEST)
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

describe('a key that does not open the key piece', () => {
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

  it('a piece as the chunks it came in is checked as the whole piece; the key piece is kept as a copy', async () => {
    const w = await world()
    const { state, message1_1 } = start(w)
    const { sale, message1_2 } = accepted(accept(w, message1_1))
    onAccept(state, message1_2)
    const split = (b: Uint8Array): Uint8Array[] => {
      const third = Math.floor(b.byteLength / 3)
      return [b.subarray(0, third), b.subarray(third, 2 * third), b.subarray(2 * third)]
    }
    for (let i = 0; i < w.pieces.length; i++) {
      const sent = pieceToSend(sale, i, w.pieces[i])
      const chunks = split(sent.slice())
      if (i !== sale.keyIndex) {
        const bad = split(sent.slice())
        bad[2][0] ^= 1
        dRefuses(w, state, () => onPiece(state, i, bad), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
        dRefuses(w, state, () => onPiece(state, i, chunks.slice(0, 2)), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
        const long = [...chunks, new Uint8Array(1)]
        dRefuses(w, state, () => onPiece(state, i, long), ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
        dRefuses(w, state, () => onPiece(state, i, [chunks[0], 'x' as any]), ErrorCode.BAD_REQUEST, 'a piece is bytes')
      }
      assert.equal(onPiece(state, i, chunks), i === sale.keyIndex ? 'sek' : 'plain')
      if (i === sale.keyIndex) {
        chunks[1].fill(0) // the caller's buffers may be reused: the kept SEK(KP) is not a view of them
        assert.deepEqual(state.sek, sent)
      }
    }
    assert.equal(state.phase, 'awaitingCheque')
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
