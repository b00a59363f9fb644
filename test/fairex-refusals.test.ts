// What the accounting centre and the provider daemons refuse, with every party
// a real process (test/helpers/fairex.ts) and the misbehaving ones played by
// libp2p peers in this process: a cheque deposited twice, a sale beyond its
// certificate (refused at its reservation, before any piece), expired
// certificates, replayed requests, one certificate shown to two providers, and
// one request sent on several streams at once. Nothing refused moves money, and
// the broker's conservation audit holds after each.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ErrorCode, P2payError, randomId, sha256Hex, toB64, toHex } from '@p2pay/core'
import { onKey, signRequest, startPurchase } from '@p2pay/fairex'
import { Daemon } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  FEE,
  MAX_CERT,
  PRICE,
  assemble,
  certificateFor,
  closeSale,
  depositRequest,
  finishBuy,
  openSale,
  rawBuy,
  rawRequest,
  reserveAt,
  saleOf,
  verifier,
  useMarket
} from './helpers/fairex.ts'
import { sleep } from './helpers/crash.ts'

const m = useMarket('fairex-refusals', { P: [], E: [] })
const { bal, certsOf, value, chequeOf, judgeBans, holds, share, localSale } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon, E: Daemon
let L: RawPeer, R: RawPeer
before(async () => {
  await m.ready
  ;({ broker, ttp, judge, L, R } = m)
  ;({ P, E } = m.nodes)
})

const DAY = 24 * 3600 * 1000

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof P2payError && err.code === code)
}

test(
  '7 the AC and the provider refuse a cheque deposited twice, a sale ' +
    'beyond its certificate (at its reservation), expired certificates and ' +
    'replayed requests',
  { timeout: 60_000 },
  async t => {
    const before = { R: await bal(R.peerId), L: await bal(L.peerId), P: await bal(P.peerId) }

    await t.test('a cheque deposited twice pays once', async () => {
      const cert = await certificateFor(L, broker.addr, broker.peerId, 50)
      const s1 = await localSale({ prov: R, down: L, ac: broker, certificate: cert.certificate, price: 20 })
      const first = depositRequest(R, broker, [s1.deposit])
      const r1 = await first.send()
      assert.deepEqual([r1.results.map(r => r.status), r1.paid, r1.fee], [['paid'], 20, FEE])
      assert.equal(await bal(R.peerId), before.R + 20 - FEE)
      // the same request again (a retry after a lost reply) gets the first answer and pays nothing more
      assert.deepEqual(await first.send(), r1)
      // the same cheque in a new request: refused, and no fee
      const r2 = await depositRequest(R, broker, [s1.deposit]).send()
      assert.deepEqual(
        [r2.results.map(r => (r.status === 'refused' ? r.code : r.status)), r2.paid, r2.fee],
        [['ALREADY_CASHED'], 0, 0]
      )
      // the same cheque twice in one batch: paid once
      const s2 = await localSale({ prov: R, down: L, ac: broker, certificate: cert.certificate, price: 20 })
      const r3 = await depositRequest(R, broker, [s2.deposit, s2.deposit]).send()
      assert.deepEqual(
        [r3.results.map(r => (r.status === 'refused' ? r.code : r.status)), r3.paid, r3.fee],
        [['paid', 'ALREADY_CASHED'], 20, FEE]
      )
      assert.equal(await bal(R.peerId), before.R + 40 - 2 * FEE)

      // 7b: a sale beyond what its certificate has not promised yet (50 - 40 = 10 < 20): the AC refuses
      // the reservation, so the provider refuses the sale before any piece; nothing changes
      const c0 = (await certsOf(L.peerId)).find(x => x.hash === cert.hash)
      assert.deepEqual([c0.escrow, c0.reserved, c0.held, c0.paid], [10, 0, 0, 40])
      const n0 = (await broker.api('GET', '/v1/fairex/cheques')).cheques.length
      await rejectsCode(
        localSale({ prov: R, down: L, ac: broker, certificate: cert.certificate, price: 20 }),
        ErrorCode.INSUFFICIENT_FUNDS
      )
      // a provider that sends the pieces anyway holds a cheque the AC never promised anything to: NOT_FOUND, no fee
      const s3 = await localSale({
        prov: R,
        down: L,
        ac: broker,
        certificate: cert.certificate,
        price: 20,
        reserve: false
      })
      const r4 = await depositRequest(R, broker, [s3.deposit]).send()
      assert.deepEqual(
        [r4.results.map(r => (r.status === 'refused' ? r.code : r.status)), r4.paid, r4.fee],
        [['NOT_FOUND'], 0, 0]
      )
      assert.equal(await bal(R.peerId), before.R + 40 - 2 * FEE)
      assert.deepEqual(
        (await certsOf(L.peerId)).find(x => x.hash === cert.hash),
        c0,
        'the certificate is as it was'
      )
      assert.equal((await broker.api('GET', '/v1/fairex/cheques')).cheques.length, n0, 'no sale recorded')
      assert.equal(await chequeOf(R.peerId, L.peerId, s3.chequeSn), undefined)
      assert.equal(await bal(L.peerId), before.L - 50)
    })

    await t.test(
      "certificates beyond the AC's limit or the balance, and a provider shown a request above its certificate",
      async () => {
        const l0 = await bal(L.peerId)
        await rejectsCode(certificateFor(L, broker.addr, broker.peerId, MAX_CERT + 1), ErrorCode.BAD_REQUEST)
        await rejectsCode(certificateFor(L, broker.addr, broker.peerId, l0 + 1), ErrorCode.INSUFFICIENT_FUNDS)
        assert.equal(await bal(L.peerId), l0)
        // to the provider daemon: REQ at the price with a certificate for less (startPurchase would not sign it;
        // messages.ts does)
        const f = await share(P, 'over-limit.bin', { size: 1024 * 1024 + 3 })
        const small = await certificateFor(L, broker.addr, broker.peerId, PRICE - 1)
        const req = signRequest(L.key.signer, {
          provider: P.peerId,
          downloader: L.peerId,
          ttp: ttp.peerId,
          fileId: f.fileId,
          chequeSn: randomId(8),
          ts: Date.now(),
          price: PRICE
        })
        const s = await openSale(L, P.addr, f.fileId, { request: toB64(req.bytes), certificate: small.certificate })
        await closeSale(s)
        assert.deepEqual([s.first?.m, s.first?.code], ['refuse', 'INSUFFICIENT_FUNDS'], JSON.stringify(s.first))
        assert.equal(await saleOf(P, L.peerId, f.fileId), undefined)
        assert.equal(await chequeOf(P.peerId, L.peerId, req.body.chequeSn), undefined, 'nothing reserved')
        assert.equal((await certsOf(L.peerId)).find(x => x.hash === small.hash).reserved, 0)
        assert.equal(await bal(L.peerId), l0 - (PRICE - 1), 'only the escrow of that certificate is held')
      }
    )

    await t.test('replayed requests: certificate request, download request (1.1) and deposit request', async () => {
      // the same certificate request twice: the same certificate, escrowed once; its nonce with other content: REPLAY
      const l0 = await bal(L.peerId)
      const nonce = randomId(8)
      const c1 = await certificateFor(L, broker.addr, broker.peerId, PRICE, nonce)
      const c2 = await certificateFor(L, broker.addr, broker.peerId, PRICE, nonce)
      assert.equal(c2.hash, c1.hash)
      assert.equal(await bal(L.peerId), l0 - PRICE)
      await rejectsCode(certificateFor(L, broker.addr, broker.peerId, PRICE + 1, nonce), ErrorCode.REPLAY)
      assert.equal(await bal(L.peerId), l0 - PRICE)

      // a download request replayed to the provider daemon after its sale: refused, no second sale on that serial
      const f = await share(P, 'replay.bin', { size: 2 * 1024 * 1024 + 5 })
      const p = await rawBuy({
        peer: L,
        verifier,
        providerAddr: P.addr,
        provider: P.peerId,
        fileId: f.fileId,
        price: PRICE,
        ttp: ttp.peerId,
        judge: judge.peerId,
        certificate: c1.certificate
      })
      assert.ok(onKey(p.state, p.key).ok)
      const s = await openSale(L, P.addr, f.fileId, p.message1_1)
      await closeSale(s)
      assert.deepEqual([s.first?.m, s.first?.code], ['refuse', 'REPLAY'], JSON.stringify(s.first))
      assert.equal((await certsOf(L.peerId)).find(x => x.hash === c1.hash).reserved, PRICE, 'reserved once')
      const dep = await P.api('POST', '/v1/fairex/deposit')
      assert.deepEqual(
        dep.results.map((r: any) => [r.status, r.downloader]),
        [['paid', L.peerId]]
      )
      assert.equal(await bal(P.peerId), before.P + PRICE - FEE)

      // a deposit request's nonce used again for other cheques: REPLAY, nothing paid
      const cert = await certificateFor(L, broker.addr, broker.peerId, 40)
      const a = await localSale({ prov: R, down: L, ac: broker, certificate: cert.certificate, price: 10 })
      const b = await localSale({ prov: R, down: L, ac: broker, certificate: cert.certificate, price: 10 })
      const dn = randomId(8)
      const r0 = await bal(R.peerId)
      assert.equal((await depositRequest(R, broker, [a.deposit], dn).send()).paid, 10)
      await rejectsCode(depositRequest(R, broker, [b.deposit], dn).send(), ErrorCode.REPLAY)
      assert.equal(await bal(R.peerId), r0 + 10 - FEE)
      assert.equal((await chequeOf(R.peerId, L.peerId, b.chequeSn)).status, 'reserved', 'b was reserved, never paid')
    })

    await t.test('expired certificates (a broker whose certificates live 4 s, deposits 4 s more)', async () => {
      const ttl = 4000
      const b2 = new Daemon('broker', join(m.swarm.dir, 'broker2'), [
        '--cert-ttl-days',
        String(ttl / DAY),
        '--deposit-grace-days',
        String(ttl / DAY),
        '--deposit-fee',
        String(FEE),
        '--proceeds-hold-s',
        '0'
      ])
      m.swarm.others.push(b2)
      await b2.start()
      try {
        await b2.api('POST', '/v1/topup', { account: L.peerId, amount: 100 })
        const cert = await certificateFor(L, b2.addr, b2.peerId, 40)
        assert.equal(await bal(L.peerId, b2), 60)
        // two sales reserved while the certificate is valid; the second one's cheque is dated after its expiry
        const fresh = await localSale({ prov: R, down: L, ac: b2, certificate: cert.certificate, price: 15 })
        const late = await localSale({
          prov: R,
          down: L,
          ac: b2,
          certificate: cert.certificate,
          price: 15,
          chequeNow: cert.expiry + 1
        })
        // and a request D signed in time whose provider reserves only after the expiry
        const tardy = rawRequest({
          peer: L,
          verifier,
          provider: R.peerId,
          fileId: toHex(randomBytes(32)),
          price: 10,
          ttp: ttp.peerId,
          judge: judge.peerId,
          certificate: cert.certificate
        })
        const reserved = (await certsOf(L.peerId, b2)).find(x => x.hash === cert.hash)
        assert.deepEqual([reserved.escrow, reserved.reserved], [40, 30])
        // D itself and the provider refuse a certificate past its expiry
        assert.throws(
          () =>
            startPurchase({
              signer: L.key.signer,
              verifier,
              provider: R.peerId,
              fileId: toHex(randomBytes(32)),
              price: 15,
              ttp: ttp.peerId,
              judge: judge.peerId,
              certificate: cert.certificate,
              now: cert.expiry + 1
            }),
          (err: unknown) => err instanceof P2payError && err.code === ErrorCode.EXPIRED
        )

        const expired = cert.expiry + 300 - Date.now()
        if (expired > 0) await sleep(expired)
        // past expiry the AC promises nothing more: the late reservation is EXPIRED, and changes nothing
        await rejectsCode(reserveAt(R, b2.addr, tardy.message1_1), ErrorCode.EXPIRED)
        assert.deepEqual(
          (await certsOf(L.peerId, b2)).find(x => x.hash === cert.hash),
          reserved
        )
        assert.equal(await chequeOf(R.peerId, L.peerId, tardy.state.req.body.chequeSn, b2), undefined)
        // but a sale reserved in time is paid within the deposit grace, though its cheque is dated after the expiry
        const rl = await depositRequest(R, b2, [late.deposit]).send()
        assert.deepEqual(
          [rl.results.map(r => (r.status === 'refused' ? r.code : r.status)), rl.paid, rl.fee],
          [['paid'], 15, FEE]
        )
        assert.equal(await bal(R.peerId, b2), 15 - FEE)

        // past expiry and grace a reserved cheque is refused, and the escrow not paid out goes back to D
        const graceOver = cert.expiry + ttl + 300 - Date.now()
        if (graceOver > 0) await sleep(graceOver)
        const rf = await depositRequest(R, b2, [fresh.deposit]).send()
        assert.deepEqual(
          [rf.results.map(r => (r.status === 'refused' ? r.code : r.status)), rf.paid, rf.fee],
          [['EXPIRED'], 0, 0]
        )
        const rel = await b2.api('POST', '/v1/fairex/release')
        assert.deepEqual(
          rel.expired.map((x: any) => [x.peer, x.amount]),
          [[L.peerId, 40 - 15]]
        )
        assert.deepEqual(rel.held, [])
        const c = (await certsOf(L.peerId, b2)).find(x => x.hash === cert.hash)
        assert.deepEqual([c.escrow, c.reserved, c.held, c.paid, c.released?.amount], [0, 0, 0, 15, 25])
        assert.equal(await bal(L.peerId, b2), 100 - 15, 'D paid the one sale deposited in time, and nothing else')
        assert.equal(await bal(R.peerId, b2), 15 - FEE)
        assert.deepEqual((await b2.api('POST', '/v1/fairex/release')).expired, [], 'released once')
        await holds(b2)
      } finally {
        await b2.stop()
      }
    })
    await holds()
  }
)

test(
  '9a one capital certificate shown to two providers: the second refuses ' +
    'before any piece (its reservation finds the money promised); the ' +
    'first is paid in full',
  { timeout: 60_000 },
  async () => {
    const fp = await share(P, 'twice-p.bin', { size: 1024 * 1024 + 11 })
    const fe = await share(E, 'twice-e.bin', { size: 1024 * 1024 + 13 })
    // E's queue is emptied first (a cheque an earlier sale left it, if any)
    await E.api('POST', '/v1/fairex/deposit')
    const before = {
      P: await bal(P.peerId),
      E: await bal(E.peerId),
      L: await bal(L.peerId),
      Lv: await value(L.peerId),
      ac: await bal(broker.peerId),
      eSales: (await E.api('GET', '/v1/fairex/sales')).sales.length
    }
    // a certificate for exactly one price
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const common = {
      peer: L,
      verifier,
      price: PRICE,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    }
    // 1.1 to P: P reserves the price at the AC, then accepts (1.2)
    const toP = rawRequest({ ...common, provider: P.peerId, fileId: fp.fileId, manifestHash: fp.manifest })
    const saleP = await openSale(L, P.addr, fp.fileId, toP.message1_1)
    assert.equal(saleP.first?.m, '1.2', JSON.stringify(saleP.first))
    assert.equal((await chequeOf(P.peerId, L.peerId, toP.state.req.body.chequeSn)).status, 'reserved')

    // the same certificate with another serial to E, while P's sale is under way: all of it is promised to P
    const toE = rawRequest({ ...common, provider: E.peerId, fileId: fe.fileId, manifestHash: fe.manifest })
    assert.notEqual(toE.state.req.body.chequeSn, toP.state.req.body.chequeSn)
    const saleE = await openSale(L, E.addr, fe.fileId, toE.message1_1)
    // the refusal is E's first message, and its last: not one piece follows
    const after = await saleE.reader.read(AbortSignal.timeout(10_000)).catch(() => null)
    await closeSale(saleE)
    assert.deepEqual([saleE.first?.m, saleE.first?.code], ['refuse', 'INSUFFICIENT_FUNDS'], JSON.stringify(saleE.first))
    assert.equal(after, null, 'nothing after the refusal')
    // E keeps no row of a refused request (a row is written only once the AC reserved the price),
    // and the same request again is refused again, by E itself (the AC refused this certificate)
    assert.equal(await saleOf(E, L.peerId, fe.fileId), undefined)
    assert.equal((await E.api('GET', '/v1/fairex/sales')).sales.length, before.eSales)
    const again = await openSale(L, E.addr, fe.fileId, toE.message1_1)
    again.stream.abort(new Error('refused'))
    assert.deepEqual([again.first?.m, again.first?.code], ['refuse', 'INSUFFICIENT_FUNDS'], JSON.stringify(again.first))
    assert.equal(await chequeOf(E.peerId, L.peerId, toE.state.req.body.chequeSn), undefined, 'nothing reserved for E')

    // P's sale completes, and its deposit is paid in full
    const p = await finishBuy(saleP, toP.state, toP.message1_1)
    const k = onKey(p.state, p.key)
    assert.ok(k.ok)
    assert.equal(sha256Hex(assemble(p, k.keyPiece)), fp.sha)
    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn, r.price]),
      [['paid', L.peerId, toP.state.req.body.chequeSn, PRICE]]
    )
    assert.deepEqual([dep.paid, dep.fee], [PRICE, FEE])
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(broker.peerId), before.ac + FEE)
    assert.deepEqual(
      await E.api('POST', '/v1/fairex/deposit'),
      { paid: 0, fee: 0, results: [] },
      'E has nothing to deposit'
    )
    assert.equal(await bal(E.peerId), before.E)
    const c = (await certsOf(L.peerId)).find(x => x.hash === cert.hash)
    assert.deepEqual([c.escrow, c.reserved, c.held, c.paid], [0, 0, 0, PRICE])
    assert.equal(await bal(L.peerId), before.L - PRICE)
    assert.equal(await value(L.peerId), before.Lv - PRICE, 'L paid once, for the file it has')
    const bans = await judgeBans()
    assert.ok(!bans.includes(P.peerId) && !bans.includes(E.peerId) && !bans.includes(L.peerId))
    await holds()
  }
)

test(
  '9a2 one request sent on several streams at once: one sale, the other copies refused REPLAY before any piece',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'concurrent-replay.bin', { size: 1024 * 1024 + 19 })
    const before = {
      P: await bal(P.peerId),
      L: await bal(L.peerId),
      Lv: await value(L.peerId),
      pSales: (await P.api('GET', '/v1/fairex/sales')).sales.length
    }
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const r = rawRequest({
      peer: L,
      verifier,
      price: PRICE,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate,
      provider: P.peerId,
      fileId: f.fileId,
      manifestHash: f.manifest
    })
    const opened = await Promise.all([0, 1, 2].map(async () => await openSale(L, P.addr, f.fileId, r.message1_1)))
    const firsts = opened.map(o => (o.first?.m === 'refuse' ? o.first.code : o.first?.m))
    assert.deepEqual([...firsts].sort(), ['1.2', 'REPLAY', 'REPLAY'], JSON.stringify(firsts))
    const winner = opened.find(o => o.first?.m === '1.2')!
    for (const o of opened) if (o !== winner) await closeSale(o)
    const p = await finishBuy(winner, r.state, r.message1_1)
    const k = onKey(p.state, p.key)
    assert.ok(k.ok)
    assert.equal(sha256Hex(assemble(p, k.keyPiece)), f.sha)
    assert.equal((await P.api('GET', '/v1/fairex/sales')).sales.length, before.pSales + 1, 'one sale recorded')
    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((x: any) => [x.status, x.chequeSn]),
      [['paid', r.state.req.body.chequeSn]]
    )
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await value(L.peerId), before.Lv - PRICE, 'L paid once for one file')
    await holds()
  }
)
