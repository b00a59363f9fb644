// The counterexample SPIN finds in models/fairex-original.pml, replayed on real
// daemons (scripts/models/replay-fairex.ts): broker, TTP, judge and two nodes
// as processes. The original form ends as the model says (provider paid,
// downloader without the file or its money); the same steps against the fixed
// form end with the provider banned and the downloader refunded. SPIN also finds that the fixed form without
// the judge keeping the cheque (the model's JUDGE_FORGETS variant) is not fair to the provider: a downloader
// that keeps its 2.3 and complains to the judge gets the key from a keyOpensPiece verdict. That attack runs
// on the daemons too, and ends with the provider paid from the cheque the judge kept for it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { fromUtf8 } from '@p2pay/core'
import { FAIREX_PROTOCOL, complaint, onAccept, onCheque, onKey, onPiece } from '@p2pay/fairex'
import { checkCoverage, replayFairex } from '../scripts/models/replay-fairex.ts'
import { counterexample, parseTrail } from '../scripts/models/fairex-trail.ts'
import {
  FEE,
  FairexMarket,
  PRICE,
  certificateFor,
  closeSale,
  openSale,
  rawRequest,
  verifier
} from './helpers/fairex.ts'

test('the replay maps every message of a trail, and refuses a trail with a message it does not map', () => {
  const trail = parseTrail(
    [
      'MSG intr - - BAD_Z',
      ...['1.1 D P', '1.2 P D', '2.1 P D', '2.2 P D', '2.3 D P', '2.4 P D', '3.1 D T', '3.2 T D', '3.3 T P'].map(
        s => `MSG ${s} x`
      ),
      'MSG end D - NOFILE',
      'MSG dep P AC DEPOSIT sn=7',
      'MSG pay AC P PAID sn=7',
      'Never claim moves to line 8'
    ].join('\n')
  )
  assert.equal(trail.length, 13)
  assert.deepEqual(trail[0], { step: 'intr', from: '-', to: '-', what: 'BAD_Z' })
  checkCoverage(trail)
  assert.throws(() => checkCoverage(trail.filter(m => m.step !== '3.3')), /not the ones the replay maps/)
  assert.throws(() => checkCoverage([...trail, { step: '4.1', from: 'D', to: 'J', what: 'COMP' }]), /not the ones/)
  const swapped = [...trail]
  ;[swapped[3], swapped[4]] = [swapped[4], swapped[3]] // 2.2 before 2.1
  assert.throws(() => checkCoverage(swapped), /trail order/)
})

test(
  "SPIN's counterexample on real daemons: the original form pays the cheater and leaves the downloader " +
    'without file or money; the same steps on the fixed form ban the provider and refund the downloader',
  { timeout: 300_000 },
  async () => {
    const r = await replayFairex()
    assert.deepEqual(
      r.trail.filter(m => m.step !== 'intr').map(m => m.step),
      ['1.1', '1.2', '2.1', '2.2', '2.3', '2.4', '3.1', '3.2', '3.3', 'end', 'dep', 'pay']
    )
    assert.ok(r.states > 0)
    const [original, fixed] = r.runs
    assert.deepEqual(
      [original.form, original.providerPaid, original.downloaderHasFile, original.downloaderRefunded],
      ['original', true, false, false]
    )
    assert.equal(original.providerBanned, false)
    assert.deepEqual(
      [fixed.form, fixed.providerPaid, fixed.downloaderHasFile, fixed.downloaderRefunded, fixed.providerBanned],
      ['fixed', false, false, true, true]
    )
    for (const run of r.runs)
      assert.deepEqual(
        run.rows.flatMap(x => x.steps),
        ['intr', '1.1', '1.2', '2.1', '2.2', '2.3', '2.4', '3.1', '3.2', 'end', '3.3', 'dep', 'pay']
      )
  }
)

test(
  "the fixed form's provider-fair counterexample (judge forgets the cheque) on real daemons: a downloader that " +
    'signs 2.3 but keeps it and complains to the judge gets the key (keyOpensPiece); the judge kept the ' +
    'countersigned cheque, so the provider deposits it and is paid, once',
  { timeout: 300_000 },
  async () => {
    const { messages } = await counterexample('fairex-fixed', 'provider-fair-no-keep')
    assert.deepEqual(
      messages.filter(x => x.step === 'intr').map(x => x.what),
      ['D_WITHHOLDS']
    )
    const said = messages.map(x => `${x.step} ${x.what}`)
    for (const s of ['2.2 CHEQUE Z=K_GOOD', '2.3 ACCEPT withheld', '4.2 INVALID key-opens-piece', 'end FILE'])
      assert.ok(said.includes(s), `${s} in ${said.join(', ')}`)
    assert.ok(!messages.some(x => ['3.1', '3.3', 'dep'].includes(x.step)), 'no dispute at T, nothing deposited')

    const m = new FairexMarket('models-withheld')
    try {
      await m.start({ P: [] })
      const { broker, ttp, judge, L } = m
      const P = m.nodes.P
      const f = await m.share(P, 'withheld.bin', { form: 'fixed', size: 600 * 1024 + 7 })
      const before = { P: await m.bal(P.peerId), D: await m.value(L.peerId) }
      const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
      const o = { peer: L, verifier, provider: P.peerId, fileId: f.fileId, price: PRICE, manifestHash: f.manifest }
      const { state, message1_1 } = rawRequest({
        ...o,
        ttp: ttp.peerId,
        judge: judge.peerId,
        certificate: cert.certificate,
        form: 'fixed'
      })
      // 1.1 to 2.2 as any downloader; 2.3 signed (onCheque) but never sent
      const sale = await openSale(L, P.addr, f.fileId, message1_1)
      const pieces: Array<Uint8Array | undefined> = []
      try {
        const { m: _m, ...m12 } = sale.first
        onAccept(state, m12)
        for (let i = 0; i < state.offer!.pieceHashes.length; i++) {
          const bytes = (await sale.reader.read(AbortSignal.timeout(20_000)))!
          pieces.push(onPiece(state, i, bytes) === 'plain' ? bytes.slice() : undefined)
        }
        const { m: _m22, ...m22 } = JSON.parse(fromUtf8((await sale.reader.read(AbortSignal.timeout(20_000)))!))
        onCheque(state, m22)
      } finally {
        await closeSale(sale)
      }
      // straight to the judge with C* and its own acceptance; without Sig_D the judge hands out no key
      const judgeRpc = m.client(L, judge, FAIREX_PROTOCOL.judge)
      const comp = complaint(state)
      const { accept: _accept, ...unsigned } = comp
      await assert.rejects(judgeRpc.call('complain', { comp: unsigned }), /Sig_D/)
      assert.deepEqual((await judge.api('GET', '/v1/fairex/verdicts')).verdicts, [], 'no verdict, nothing stored')
      const v = await judgeRpc.call<any>('complain', { comp })
      assert.deepEqual([v.ruling, v.reason], ['invalidComplain', 'keyOpensPiece'])
      const opened = onKey(state, v.key)
      assert.ok(opened.ok, "the judge's key opens the key piece")
      const file = Buffer.concat(pieces.map(x => x ?? (opened as { keyPiece: Uint8Array }).keyPiece))
      assert.equal(createHash('sha256').update(file).digest('hex'), f.sha, 'D has the whole file')
      assert.equal((await judge.api('GET', '/v1/fairex/status')).chequesKept, 1, 'the judge kept the cheque for P')

      // P never got 2.3, but its deposit picks up the cheque the judge kept for it: paid, once
      const sn = state.req.body.chequeSn
      const dep = await P.api('POST', '/v1/fairex/deposit')
      assert.deepEqual(
        dep.results.map((r: any) => [r.status, r.chequeSn]),
        [['paid', sn]]
      )
      assert.deepEqual([dep.paid, dep.fee], [PRICE, FEE])
      assert.equal((await m.chequeOf(P.peerId, L.peerId, sn)).status, 'paid')
      assert.equal(await m.bal(P.peerId), before.P + PRICE - FEE, 'P is paid the price less the fee')
      assert.equal(await m.value(L.peerId), before.D - PRICE, 'D paid exactly once')
      const verdict = (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.find((x: any) => x.chequeSn === sn)
      assert.ok(verdict?.delivered != null, 'the judge saw P take the cheque')
      assert.equal((await judge.api('GET', '/v1/fairex/status')).chequesKept, 0)
      // picked up once: a second deposit has nothing to pay
      assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
      assert.equal(await m.bal(P.peerId), before.P + PRICE - FEE)
      assert.deepEqual(await m.judgeBans(), [], 'nobody is banned')
      await m.holds()
    } finally {
      await m.stop()
    }
  }
)
