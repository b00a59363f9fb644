// The judge's rules: evidence of a holder double spend that holds gets two signed openings naming the member that
// signed each request; the same case again (either order) gets the same openings and nothing new is signed; evidence
// that does not hold, or whose group signatures do not verify, opens nothing and leaves nothing kept. The opener
// part and the group record: the broker's group must carry the judge's signed part.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, Verifier, fromB64, memoryTables, sha256Hex, toB64, type Counters } from '@p2pay/core'
import { rejectsCode, snapshot, throwsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import * as bbs from '../src/core/bbs04.ts'
import { coinSigner, newCoinKey } from '../src/core/holder.ts'
import { TAG, type OpeningBody } from '../src/core/messages.ts'
import { groupPool } from '../src/core/group-pool.ts'
import { openGroupRecord, signGroupRecord } from '../src/core/group-record.ts'
import { Opener, openOpenerPart, openOpenings, signOpenerPart } from '../src/core/opener.ts'
import { checkEvidence } from '../src/core/evidence.ts'
import { OPENER_TABLES } from '../src/net/group-tables.ts'
import type { WhopayKind } from '../src/kinds.ts'
import { T0, backend, certFor, group, groupSign, member, memberIdOf, peer, request, verifier } from './core-fixtures.ts'

const broker = await peer()
/** the judge's key, its signatures counted */
const judgeCount = counter()
const judgeSigner = coinSigner(newCoinKey(), backend, judgeCount)
const judge = { signer: judgeSigner, id: judgeSigner.peerId }
const owner = await peer()
const mallory = member()
const honest = member()
const pool = groupPool(1)
after(async () => await pool.close())

const gpk = bbs.encodeGroupPublicKey(group.gpk)

/** Counts what the judge signs and verifies by hand, by kind. */
function counter(): Counters<WhopayKind> & { signed_: number; verified_: number } {
  return {
    signed_: 0,
    verified_: 0,
    messageSent() {},
    signed() {
      this.signed_++
    },
    verified() {
      this.verified_++
    }
  }
}

function opener(metrics?: Counters<WhopayKind>) {
  const t = memoryTables({ openings: OPENER_TABLES.openings })
  const o = new Opener(t, judge.signer, verifier, {
    broker: broker.id,
    gpk,
    openerKey: bbs.encodeOpenerKey(group.openerKey),
    crypto: pool,
    now: () => T0,
    metrics
  })
  return { t, o }
}

describe('the judge opens a holder double spend', () => {
  const { cert, key } = certFor(broker, owner)
  const at = { coin: cert.coin, gen: 0, seq: 0 }
  const a = request(key, mallory, TAG.transfer, at, newCoinKey().id)
  const b = request(key, mallory, TAG.deposit, at, newCoinKey().id)
  const evidence = { cert: cert.b64, a, b }

  it('gives two openings signed by the judge, each naming the member that signed', async () => {
    const metrics = counter()
    const { t, o } = opener(metrics)
    const c = await o.open(evidence)
    assert.equal(c.case, checkEvidence(verifier, evidence, broker.id).hash)
    assert.deepEqual(c.members, [memberIdOf(mallory), memberIdOf(mallory)])
    assert.equal(metrics.verified_, 2, 'both group signatures verified')
    for (const [i, b64] of c.openings.entries()) {
      const env = new Verifier(backend).open<OpeningBody>(fromB64(b64), TAG.opening, 'whopay-open')
      assert.equal(env.signer, judge.id)
      assert.equal(env.body.case, c.case)
      assert.equal(env.body.member, memberIdOf(mallory))
      assert.equal(env.body.signature, sha256Hex(fromB64([a, b][i].group)))
    }
    assert.deepEqual(t.openings.get(c.case), c)
    // what the broker checks of them
    const checked = checkEvidence(verifier, evidence, broker.id)
    const openings = openOpenings(verifier, c.openings, judge.id, checked)
    assert.equal(openings[1].member, memberIdOf(mallory))
    throwsCode(() => openOpenings(verifier, c.openings, broker.id, checked), ErrorCode.WRONG_SIGNER)
    const reversed = openOpenings(verifier, [...c.openings].reverse(), judge.id, checked)
    assert.deepEqual(
      reversed.map(o => o.b64),
      c.openings,
      'matched to the signatures, in the evidence order'
    )
    throwsCode(() => openOpenings(verifier, [c.openings[0], c.openings[0]], judge.id, checked), ErrorCode.BAD_REQUEST)
  })

  it('the same evidence again, in either order, gets the same openings and signs nothing new', async () => {
    const { t, o } = opener()
    // two at once, before either is kept: one case, kept once
    const [first, racing] = await Promise.all([o.open(evidence), o.open({ cert: cert.b64, a: b, b: a })])
    assert.deepEqual(racing, first)
    const signedBefore = judgeCount.signed_
    const again = await o.open({ cert: cert.b64, a: b, b: a })
    assert.deepEqual(again, first)
    assert.deepEqual(await o.open(evidence), first)
    assert.equal(t.openings.size, 1)
    assert.equal(judgeCount.signed_, signedBefore, 'no opening signed again')
  })

  it('opens to each signer when two members signed with one coin key', async () => {
    const { o } = opener()
    const { cert: c2, key: k2 } = certFor(broker, owner)
    const at2 = { coin: c2.coin, gen: 0, seq: 0 }
    const x = request(k2, mallory, TAG.transfer, at2, newCoinKey().id)
    const y = request(k2, honest, TAG.transfer, at2, newCoinKey().id)
    const c = await o.open({ cert: c2.b64, a: x, b: y })
    assert.deepEqual(c.members, [memberIdOf(mallory), memberIdOf(honest)])
  })

  it('refuses evidence that does not hold: no opening, nothing kept', async () => {
    const metrics = counter()
    const { t, o } = opener(metrics)
    const before = snapshot(t)
    await rejectsCode(o.open({ cert: cert.b64, a, b: a }), WhopayErrorCode.NOT_CONFLICT)
    const other = await peer()
    const foreign = certFor(other, owner)
    const fa = request(foreign.key, mallory, TAG.transfer, at, newCoinKey().id)
    await rejectsCode(o.open({ cert: foreign.cert.b64, a: fa, b }), ErrorCode.WRONG_BROKER)
    await rejectsCode(o.open({ cert: cert.b64, a }), ErrorCode.BAD_REQUEST)
    await rejectsCode(o.open('evidence'), ErrorCode.BAD_REQUEST)
    assert.equal(metrics.verified_, 0, 'no group signature looked at')
    assert.equal(snapshot(t), before)
  })

  it('refuses when a group signature does not verify over its request: BAD_GROUP_SIGNATURE, nothing kept', async () => {
    const { t, o } = opener()
    // a real signature by the member, over another message
    const moved = { ...b, group: toB64(groupSign(mallory, new Uint8Array([1, 2, 3]))) }
    await rejectsCode(o.open({ cert: cert.b64, a, b: moved }), WhopayErrorCode.BAD_GROUP_SIGNATURE)
    // one from another group
    const other = bbs.setup()
    const stranger = bbs.issue(other.gpk, other.issuerKey)
    const digest = checkEvidence(verifier, evidence, broker.id).digests[0]
    const foreign = { ...a, group: toB64(bbs.encodeSignature(bbs.sign(other.gpk, stranger, digest))) }
    await rejectsCode(o.open({ cert: cert.b64, a: foreign, b }), WhopayErrorCode.BAD_GROUP_SIGNATURE)
    assert.equal(t.openings.size, 0)
  })
})

describe('the opener part and the group record', () => {
  const split = bbs.openerSetup()
  const part = signOpenerPart(judge.signer, split.part)
  const issued = bbs.issuerSetup(split.part)

  it("a member trusts the broker's group only on the judge's signed part", () => {
    const seen = openOpenerPart(verifier, part.b64, judge.id)
    assert.equal(seen.hash, part.hash)
    const rec = signGroupRecord(broker.signer, issued.gpk, seen)
    const back = openGroupRecord(verifier, rec.b64, broker.id, seen)
    assert.equal(toB64(back.gpk), toB64(bbs.encodeGroupPublicKey(issued.gpk)))
    assert.equal(back.judge, judge.id)
    throwsCode(() => openOpenerPart(verifier, part.b64, broker.id), ErrorCode.WRONG_SIGNER)
    throwsCode(() => openGroupRecord(verifier, rec.b64, judge.id, seen), ErrorCode.WRONG_SIGNER)
  })

  it("refuses a group on another opener part than the judge's, and an opener part the broker signed", async () => {
    const seen = openOpenerPart(verifier, part.b64, judge.id)
    // the broker's own full setup: it would hold the opener key too
    const own = bbs.setup()
    throwsCode(() => signGroupRecord(broker.signer, own.gpk, seen), ErrorCode.BAD_REQUEST)
    const forged = signOpenerPart(broker.signer, bbs.openerPartOf(own.gpk))
    throwsCode(() => openOpenerPart(verifier, forged.b64, judge.id), ErrorCode.WRONG_SIGNER)
    // a group record on the broker's own part, naming the broker as its judge
    const fake = signGroupRecord(broker.signer, own.gpk, openOpenerPart(verifier, forged.b64, broker.id))
    throwsCode(() => openGroupRecord(verifier, fake.b64, broker.id, seen), ErrorCode.WRONG_SIGNER)
  })
})
