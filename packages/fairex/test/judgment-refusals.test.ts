// judgment.ts: the judge's signed records as peers and the AC open them, the
// complaints it cannot judge (refused with nothing recorded), and the
// configurations it refuses.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64, toHex, type Opened } from '@p2pay/core'
import { Judge } from '../src/core/judgment.ts'
import {
  JUDGMENT_TAG,
  openBan,
  openVerdict,
  type BanBody,
  type Complaint,
  type VerdictBody
} from '../src/core/judgment-records.ts'
import { newPieceKey } from '../src/core/keypiece.ts'
import { FAIREX_TAG, acceptCheque, type ChequeBody } from '../src/core/messages.ts'
import { verifier, T0, BAN_MS, judgeTables, world, b64, sale, rejects } from './judgment-fixtures.ts'

describe('judge: records, refusals and configuration', () => {
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
