// judgment.ts: the countersigned cheque the judge keeps for the provider. A
// keyOpensPiece verdict hands D the key, so the judge keeps C*, Sig_D and D's
// certificate for P (a D that kept its 2.3 and came straight to the judge would
// otherwise have the file while P has nothing to deposit); P fetches it once.
// Without a valid Sig_D or certificate no key leaves and nothing is stored.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, randomId } from '@p2pay/core'
import type { Complaint } from '../src/core/judgment-records.ts'
import { newPieceKey } from '../src/core/keypiece.ts'
import { FAIREX_TAG, signCertificate } from '../src/core/messages.ts'
import { T0, b64, rejects, sale, world } from './judgment-fixtures.ts'

describe('judge: the cheque kept for the provider', () => {
  it('keyOpensPiece keeps exactly the checked cheque, acceptance and certificate for P, in the verdict', async () => {
    const w = await world()
    const s = sale(w)
    const r = w.judge.judge(s.comp, w.D.id)
    assert.deepEqual([r.body.ruling, r.body.reason], ['invalidComplain', 'keyOpensPiece'])
    const kept = w.judge.keptFor(w.P.id)
    assert.equal(kept.length, 1)
    assert.deepEqual(kept[0], {
      id: s.cheque.hash,
      provider: w.P.id,
      downloader: w.D.id,
      chequeSn: s.cheque.body.chequeSn,
      price: s.cheque.body.price,
      cheque: s.comp.cheque,
      accept: s.comp.accept,
      certificate: s.certificate,
      verdict: r.hash,
      at: T0
    })
    // nobody else sees it, and the same complaint again keeps nothing more
    assert.deepEqual(w.judge.keptFor(w.D.id), [])
    assert.deepEqual(w.judge.keptFor(w.X.id), [])
    assert.equal(w.judge.judge(s.comp, w.D.id).hash, r.hash)
    assert.equal(w.judge.t.kept.size, 1)
  })

  it('other rulings keep nothing: a providerBan voids the cheque, an invalid complaint hands out no key', async () => {
    const w = await world()
    const bad = sale(w, { sealed: newPieceKey() })
    assert.equal(w.judge.judge(bad.comp, w.D.id).body.ruling, 'providerBan')
    const other = sale(w)
    const lie: Complaint = { ...other.comp, sek: sale(w).comp.sek }
    const r = w.judge.judge(lie, w.D.id)
    assert.deepEqual([r.body.reason, r.body.key], ['otherSek', undefined])
    assert.equal(w.judge.t.kept.size, 0)
  })

  it('no valid Sig_D, or no certificate C* names: refused, no key, nothing stored', async () => {
    const w = await world()
    const s = sale(w)
    const judge = (over: Partial<Record<keyof Complaint, unknown>>) => () =>
      w.judge.judge({ ...s.comp, ...over } as Complaint, w.D.id)
    const acceptBody = { cheque: s.cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: s.cheque.body.chequeSn }
    const noSig = rejects(w, judge({ accept: undefined }), ErrorCode.BAD_REQUEST)
    assert.match(noSig.message, /Sig_D/)
    const notD = rejects(
      w,
      judge({ accept: b64(w.X.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) }),
      ErrorCode.WRONG_SIGNER
    )
    assert.match(notD.message, /no key without D's acceptance/)
    rejects(w, judge({ accept: sale(w).comp.accept }), ErrorCode.BAD_REQUEST)

    const missing = rejects(w, judge({ certificate: undefined }), ErrorCode.BAD_REQUEST)
    assert.match(missing.message, /capital certificate/)
    const certOf = (peer: string) =>
      b64(signCertificate(w.AC.signer, { ac: w.AC.id, peer, max: 100, expiry: T0 + 60_000, serial: randomId(8) }))
    rejects(w, judge({ certificate: certOf(w.X.id) }), ErrorCode.WRONG_OWNER)
    rejects(w, judge({ certificate: certOf(w.D.id) }), ErrorCode.BAD_REQUEST)
    rejects(w, judge({ certificate: s.comp.accept }), ErrorCode.WRONG_TAG)
    assert.equal(w.judge.t.verdicts.size, 0)
    assert.equal(w.judge.t.kept.size, 0)

    // the complete complaint still gets its verdict, K and the kept cheque
    assert.ok(w.judge.judge(s.comp, w.D.id).body.key != null)
    assert.equal(w.judge.t.kept.size, 1)
  })

  it('P fetches the kept cheque once: delivered takes it out of the queue, a retry is a no-op', async () => {
    const w = await world()
    const [s1, s2] = [sale(w), sale(w)]
    w.judge.judge(s1.comp, w.D.id)
    w.clock.t += 10
    w.judge.judge(s2.comp, w.D.id)
    assert.deepEqual(
      w.judge.keptFor(w.P.id).map(k => k.id),
      [s1.cheque.hash, s2.cheque.hash]
    )
    assert.deepEqual(
      w.judge.keptFor(w.P.id, 1).map(k => k.id),
      [s1.cheque.hash]
    )

    // only P may take its cheques, and only ids the judge kept for it
    rejects(w, () => w.judge.delivered(w.X.id, [s1.cheque.hash], w.clock.t), ErrorCode.NOT_FOUND)
    rejects(w, () => w.judge.delivered(w.P.id, ['ab'.repeat(32)], w.clock.t), ErrorCode.NOT_FOUND)
    rejects(w, () => w.judge.delivered(w.P.id, [], w.clock.t), ErrorCode.BAD_REQUEST)
    rejects(w, () => w.judge.delivered(w.P.id, ['xyz'], w.clock.t), ErrorCode.BAD_REQUEST)
    const banned = sale(w, { sealed: newPieceKey() })
    w.judge.judge(banned.comp, w.D.id)
    rejects(w, () => w.judge.delivered(w.P.id, [banned.cheque.hash], w.clock.t), ErrorCode.NOT_FOUND)

    w.clock.t += 5
    assert.deepEqual(w.judge.delivered(w.P.id, [s1.cheque.hash, s1.cheque.hash], w.clock.t), {
      delivered: [s1.cheque.hash]
    })
    assert.equal(w.judge.verdict(s1.cheque.hash)!.delivered, w.clock.t)
    assert.deepEqual(
      w.judge.keptFor(w.P.id).map(k => k.id),
      [s2.cheque.hash]
    )
    // a retry after a lost reply: nothing new, nothing comes back
    assert.deepEqual(w.judge.delivered(w.P.id, [s1.cheque.hash, s2.cheque.hash], w.clock.t), {
      delivered: [s2.cheque.hash]
    })
    assert.deepEqual(w.judge.delivered(w.P.id, [s1.cheque.hash, s2.cheque.hash], w.clock.t), { delivered: [] })
    assert.deepEqual(w.judge.keptFor(w.P.id), [])
    // a repeated complaint after delivery does not queue the cheque again
    w.judge.judge(s1.comp, w.D.id)
    assert.deepEqual(w.judge.keptFor(w.P.id), [])
  })
})
