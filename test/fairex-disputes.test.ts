// Disputes and judgments with every party a real process (test/helpers/fairex.ts):
// a TTP killed after a resolve gives the same key again and delivers the
// provider's cheque once; a downloader and its sybil provider reusing the serial
// of an honest purchase get the sybil banned and only its sale voided; and a
// market whose AC holds proceeds for a complaint window refunds a cheater's
// buyer from escrow while paying an honest provider after the window.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { FAIREX_PROTOCOL, complaint, disputeBundle, onKey } from '@p2pay/fairex'
import { Daemon, Swarm, audit, waitFor } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  FEE,
  PRICE,
  TOPUP,
  buy,
  certificateFor,
  depositRequest,
  rawBuy,
  sha256File,
  snOf,
  verifier,
  useMarket
} from './helpers/fairex.ts'
import { attempt } from './helpers/crash.ts'

const m = useMarket('fairex-disputes', { P: [] })
const { bal, certsOf, value, chequeOf, judgeBans, holds, share, outPath, client, localSale } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon
let L: RawPeer
before(async () => {
  await m.ready
  ;({ broker, ttp, judge, L } = m)
  ;({ P } = m.nodes)
})

test(
  "8b kill -9 of the TTP after a resolve: the same key again after the restart; P's cheque is delivered and paid once",
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'crash-ttp.bin')
    const before = { P: await bal(P.peerId), L: await bal(L.peerId) }
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const p = await rawBuy({
      peer: L,
      verifier,
      providerAddr: P.addr,
      provider: P.peerId,
      fileId: f.fileId,
      price: PRICE,
      manifestHash: f.manifest,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    })
    // L says it got no key and asks the TTP
    const bundle = disputeBundle(p.state)
    const r1 = await client(L, ttp, FAIREX_PROTOCOL.ttp).call<any>('resolve', { bundle })
    assert.equal(r1.key, p.key, "the TTP opens Z to P's K")
    await ttp.kill9()
    await ttp.start()
    const r2 = await attempt(
      10,
      300,
      async () => await client(L, ttp, FAIREX_PROTOCOL.ttp).call<any>('resolve', { bundle })
    )
    assert.deepEqual(r2, r1)
    assert.ok(onKey(p.state, r2.key).ok)
    const disputes = (): Promise<any[]> =>
      ttp.api('GET', '/v1/fairex/disputes').then((r: any) => r.disputes.filter((d: any) => d.id === r1.dispute))
    assert.equal((await disputes()).length, 1)

    const dep = await attempt(10, 500, async () => await P.api('POST', '/v1/fairex/deposit'))
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
      [['paid', L.peerId, p.state.req.body.chequeSn]]
    )
    const [d] = await disputes()
    assert.ok(d.delivered > 0)
    // again after another kill -9: nothing is delivered or paid twice
    await ttp.kill9()
    await ttp.start()
    assert.deepEqual(await attempt(10, 500, async () => await P.api('POST', '/v1/fairex/deposit')), {
      paid: 0,
      fee: 0,
      results: []
    })
    assert.equal((await disputes())[0].delivered, d.delivered)
    assert.equal((await ttp.api('GET', '/v1/fairex/status')).pending, 0)
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(L.peerId), before.L - PRICE)
    assert.ok(!(await judgeBans()).includes(P.peerId))
    await holds()
  }
)

test(
  '9b a downloader and its sybil provider reuse the serial of an honest purchase from P: the ' +
    "sybil is banned and its sale voided, P's sale is untouched and paid",
  { timeout: 60_000 },
  async () => {
    const S = await RawPeer.start()
    m.extraPeers.push(S)
    const f = await share(P, 'sybil-serial.bin', { size: 1024 * 1024 + 17 })
    const before = {
      P: await bal(P.peerId),
      L: await bal(L.peerId),
      Lv: await value(L.peerId),
      bans: await judgeBans(),
      voids: ((await audit(broker)) as any).ac.voids
    }
    // L's honest purchase from P
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const honest = await rawBuy({
      peer: L,
      verifier,
      providerAddr: P.addr,
      provider: P.peerId,
      fileId: f.fileId,
      price: PRICE,
      manifestHash: f.manifest,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    })
    assert.ok(onKey(honest.state, honest.key).ok)
    const sn = honest.state.req.body.chequeSn
    assert.equal((await chequeOf(P.peerId, L.peerId, sn)).status, 'reserved')

    // the sybil S "sells" L something on the same serial, sealing K' by agreement, and reserves it at the AC
    const cert2 = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const sybil = await localSale({
      prov: S,
      down: L,
      ac: broker,
      certificate: cert2.certificate,
      price: PRICE,
      chequeSn: sn,
      garbageKey: new Uint8Array(randomBytes(32))
    })
    assert.equal(sybil.chequeSn, sn)
    assert.equal(
      (await chequeOf(S.peerId, L.peerId, sn)).status,
      'reserved',
      'the same serial with another provider is another sale'
    )
    // L complains about the sybil's key: providerBan, and the judge voids that cheque at the AC
    const v = await client(L, judge, FAIREX_PROTOCOL.judge).call<any>('complain', { comp: complaint(sybil.state) })
    assert.deepEqual([v.ruling, v.reason], ['providerBan', 'wrongKey'])
    const voided = await waitFor(
      "the void of the sybil's sale",
      async () => {
        const c = await chequeOf(S.peerId, L.peerId, sn)
        return c?.status === 'void' ? c : undefined
      },
      15_000
    )
    assert.deepEqual([voided.void.from, voided.void.refunded, voided.void.shortfall], ['escrow', PRICE, 0])
    assert.equal(voided.certificate, cert2.hash)
    assert.deepEqual(
      [...(await judgeBans())].sort(),
      [...before.bans, S.peerId].sort(),
      'the sybil is banned, and only it'
    )

    // P's sale on that serial is untouched: still reserved, and P's deposit pays in full
    const pSale = await chequeOf(P.peerId, L.peerId, sn)
    assert.deepEqual([pSale.status, pSale.void, pSale.certificate], ['reserved', undefined, cert.hash])
    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn, r.price]),
      [['paid', L.peerId, sn, PRICE]]
    )
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE, 'P lost nothing')
    assert.equal((await chequeOf(P.peerId, L.peerId, sn)).status, 'paid')
    // the sybil cannot cash its cheque; L paid P once and got the sybil's "price" back
    const sd = await depositRequest(S, broker, [sybil.deposit]).send()
    assert.deepEqual(
      [sd.results.map(r => (r.status === 'refused' ? r.code : r.status)), sd.paid, sd.fee],
      [['FRAUD'], 0, 0]
    )
    assert.equal(await bal(S.peerId), 0)
    assert.equal(await value(L.peerId), before.Lv - PRICE)
    assert.equal(await bal(L.peerId), before.L - PRICE)
    assert.equal(((await audit(broker)) as any).ac.voids, before.voids + 1)
    assert.ok(!(await judgeBans()).includes(P.peerId))
    await holds()
  }
)

test(
  "9c the complaint window (a market whose AC holds proceeds 6 s): a cheater's deposit is held " +
    'and the ban refunds D from escrow; an honest deposit is paid after the window',
  { timeout: 180_000 },
  async () => {
    const HOLD_S = 6
    const m2 = new Swarm('fairex-hold')
    try {
      const m = await m2.startMarket(
        ['--deposit-fee', String(FEE), '--proceeds-hold-s', String(HOLD_S)],
        ['--retry-interval-ms', '200']
      )
      const H = m.broker
      const judgeH = m.judge
      const common = ['--broker', H.addr, '--owner-timeout-ms', '2000', '--retry-interval-ms', '1000', ...m.nodeArgs]
      // X cheats and deposits when told to; Y is honest and deposits on its own once a cheque has waited 1 s; Z buys
      const X = new Daemon('node', join(m2.dir, 'X'), [...common, '--allow-cheats', '--auto-deposit-s', '0'])
      const Y = new Daemon('node', join(m2.dir, 'Y'), [...common, '--auto-deposit-s', '1'])
      const Z = new Daemon('node', join(m2.dir, 'Z'), [...common, '--auto-deposit-s', '0'])
      m2.nodes.push(X, Y, Z)
      await Promise.all([X, Y, Z].map(async n => await n.start(60_000)))
      for (const id of [Z.peerId, L.peerId]) await H.api('POST', '/v1/topup', { account: id, amount: TOPUP })
      const valueH = async (peer: string): Promise<number> =>
        (await bal(peer, H)) + (await certsOf(peer, H)).reduce((n, c) => n + c.escrow, 0)
      const heldOf = async (provider: string): Promise<any[]> =>
        (await H.api('GET', '/v1/fairex/holds')).holds.filter((h: any) => h.provider === provider)

      // the honest sale: Y deposits it by itself; the price waits out the window in Z's escrow
      const fy = await share(Y, 'window-honest.bin', { size: 1024 * 1024 + 21 })
      const out = outPath('window-honest.bin')
      const rec = await buy(Z, Y, fy.fileId, out)
      assert.deepEqual([rec.status, rec.via], ['done', 'key'])
      assert.equal(await sha256File(out), fy.sha)
      const honest = await waitFor(
        "Y's automatic deposit",
        async () => {
          const c = await chequeOf(Y.peerId, Z.peerId, snOf(rec.serial), H)
          return c?.status !== 'reserved' ? c : undefined
        },
        20_000
      )
      assert.equal(honest.status, 'held', JSON.stringify(honest))
      assert.equal(honest.deposited.releaseAt - honest.deposited.at, HOLD_S * 1000)
      assert.equal(await bal(Y.peerId, H), 0, 'Y has nothing yet')
      assert.equal(await valueH(Z.peerId), TOPUP, "the price is still in Z's escrow")
      const [yHold] = await heldOf(Y.peerId)
      assert.deepEqual(
        [yHold.keys.length, yHold.fee, yHold.releaseAt],
        [1, FEE, honest.deposited.releaseAt],
        'nothing was paid at once: the fee waits for the release'
      )

      // the cheat: X seals K' and deposits the cheque at once, before L complains
      const fx = await share(X, 'window-bait.bin', { size: 1024 * 1024 + 23, cheat: true })
      const certL = await certificateFor(L, H.addr, H.peerId, PRICE)
      const p = await rawBuy({
        peer: L,
        verifier,
        providerAddr: X.addr,
        provider: X.peerId,
        fileId: fx.fileId,
        price: PRICE,
        manifestHash: fx.manifest,
        ttp: m.ttp.peerId,
        judge: judgeH.peerId,
        certificate: certL.certificate
      })
      assert.equal(onKey(p.state, p.key).ok, false, "X sent K'")
      const sn = p.state.req.body.chequeSn
      const dx = await X.api('POST', '/v1/fairex/deposit')
      assert.deepEqual(
        dx.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
        [['held', L.peerId, sn]]
      )
      assert.deepEqual([dx.paid, dx.held, dx.fee], [0, PRICE, 0])
      assert.ok(dx.releaseAt > 0)
      assert.equal(await bal(X.peerId, H), 0, 'a held deposit pays nothing yet')
      assert.equal((await chequeOf(X.peerId, L.peerId, sn, H)).status, 'held')
      assert.equal(((await audit(H)) as any).held >= PRICE, true)

      // L complains inside the window: providerBan, and the void refunds L from the escrow, in full
      const v = await client(L, judgeH, FAIREX_PROTOCOL.judge).call<any>('complain', { comp: complaint(p.state) })
      assert.deepEqual([v.ruling, v.reason], ['providerBan', 'wrongKey'])
      const voided = await waitFor(
        'the void at H',
        async () => {
          const c = await chequeOf(X.peerId, L.peerId, sn, H)
          return c?.status === 'void' ? c : undefined
        },
        15_000
      )
      assert.deepEqual(
        [voided.void.from, voided.void.refunded, voided.void.shortfall],
        ['escrow', PRICE, 0],
        'voided inside the window'
      )
      assert.equal(await bal(L.peerId, H), TOPUP, 'L refunded in full')
      assert.equal(await bal(X.peerId, H), 0, 'X never had the money')
      assert.deepEqual(
        (await judgeH.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer),
        [X.peerId]
      )
      await waitFor(
        'the judge to record the void',
        async () =>
          (await judgeH.api('GET', '/v1/fairex/verdicts')).verdicts.find((x: any) => x.chequeSn === sn)?.void
            ?.status === 'voided',
        10_000
      )

      // after the window, the broker's timer pays Y (less the deferred fee); X's held batch pays nothing
      await waitFor(
        'the held proceeds to be released',
        async () => (await H.api('GET', '/v1/fairex/holds')).holds.length === 0,
        30_000
      )
      assert.deepEqual((await H.api('POST', '/v1/fairex/release')).held, [], 'released once')
      const paidY = await chequeOf(Y.peerId, Z.peerId, snOf(rec.serial), H)
      assert.equal(paidY.status, 'paid')
      assert.ok(paidY.paidAt >= paidY.deposited.releaseAt)
      assert.equal(await bal(Y.peerId, H), PRICE - FEE)
      assert.equal(await bal(H.peerId, H), FEE, 'one fee, taken at the release')
      assert.equal(await valueH(Z.peerId), TOPUP - PRICE)
      assert.equal(await bal(X.peerId, H), 0)
      assert.equal((await chequeOf(X.peerId, L.peerId, sn, H)).status, 'void')
      assert.equal(await valueH(L.peerId), TOPUP, 'L lost nothing')
      assert.deepEqual(
        await X.api('POST', '/v1/fairex/deposit'),
        { paid: 0, fee: 0, results: [] },
        "the held cheque left X's queue"
      )
      assert.deepEqual(await Y.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
      const a = (await audit(H)) as any
      assert.deepEqual(
        [a.held, a.ac.voids, a.ac.meta.clawedBack, a.ac.meta.shortfall, a.ac.meta.voidReleased],
        [0, 1, 0, 0, PRICE]
      )
      await holds(H)
    } finally {
      await m2.stopAll()
    }
  }
)
