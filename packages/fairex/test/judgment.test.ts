// judgment.ts: the judge of the fixed protocol. A provider that sealed a garbage
// K' is banned by a signed record (where the TTP would have handed K' out); a
// downloader who shows another REQ', Z, SEK, manifest or piece list gets
// invalidComplain; an honest provider's right key comes back in the verdict.
// One verdict per cheque, bans expire, and every refusal changes nothing.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, toB64, toHex } from '@p2pay/core'
import { openBan, openVerdict, type Complaint } from '../src/core/judgment-records.ts'
import { encryptKeyPiece, newPieceKey } from '../src/core/keypiece.ts'
import { signManifest } from '../src/core/manifest.ts'
import { FAIREX_TAG, signRequest } from '../src/core/messages.ts'
import { sealZ } from '../src/core/zbox.ts'
import {
  verifier,
  T0,
  PIECE,
  BAN_MS,
  world,
  b64,
  hex,
  type Sale,
  sale,
  snapshot,
  checkVerdict
} from './judgment-fixtures.ts'

describe('judge: the judgment phase of the fixed protocol', () => {
  it(
    "bans a provider that sealed K' (the paper's attack on the " + "fixed form), where the TTP would hand K' out",
    async () => {
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
    }
  )

  it('bans a provider whose Z gives the judge no key', async () => {
    const w = await world()
    for (const to of [{ ttp: w.T.id }, { ttp: w.T.id, judge: w.X.id }]) {
      const s = sale(w, { to })
      checkVerdict(w, s, w.judge.judge(s.comp, w.D.id), 'providerBan', 'noJudgeKey')
    }
    assert.equal(w.judge.activeBans().length, 2)
  })

  it(
    'bans a provider whose C* contradicts what it signed into it: another ' +
      "file's manifest, a key index past the file, another price",
    async () => {
      const w = await world()
      const a = sale(w, { manifestFileId: hex() })
      checkVerdict(w, a, w.judge.judge(a.comp, w.D.id), 'providerBan', 'badManifest')
      const b = sale(w, { cheque: { keyIndex: 4 } })
      checkVerdict(w, b, w.judge.judge(b.comp, w.D.id), 'providerBan', 'badManifest')
      const c = sale(w, { cheque: { price: 8 } })
      checkVerdict(w, c, w.judge.judge(c.comp, w.D.id), 'providerBan', 'chequeContradictsRequest')
    }
  )

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
})
