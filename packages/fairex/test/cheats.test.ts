// cheats.ts: the paper's dishonest provider, pure. A garbage K' sealed in Z and
// sent in 2.4 leaves D without the key in both forms; the TTP can only hand out
// K' (original form), while the fixed form's COMP holds what convicts P.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toHex } from '@p2pay/core'
import { decryptKeyPiece, keyOpensPiece, newPieceKey, sekHash } from '../src/core/keypiece.ts'
import { merkleProof, merkleRoot } from '../src/core/merkle.ts'
import { openCheque, openChequeAccept, openRequest } from '../src/core/messages.ts'
import { complaint, disputeBundle, onKey } from '../src/core/sale-downloader.ts'
import { throwsCode } from '@p2pay/test-utils'
import { openZ } from '../src/core/zbox.ts'
import { cheatingCheque } from '../src/cheats.ts'
import { verifier, world, throughCheque } from './sale-fixtures.ts'

describe("the paper's attack: a garbage K' in Z and in 2.4", () => {
  it("original form: D is paid for nothing; the TTP holds only K', which fails too", async () => {
    const w = await world()
    const Kp = newPieceKey()
    const s = throughCheque(w, 'original', (sale, now) => cheatingCheque(sale, { now, garbageKey: Kp }))
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
    const s = throughCheque(w, 'fixed', (sale, now) => cheatingCheque(sale, { now, garbageKey: Kp }))
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
})
