// The file market under kill -9 (test/helpers/fairex.ts starts the processes):
// a provider killed between 2.3 and 2.4 (D gets K from the TTP, P its cheque on
// restart), the broker killed in the middle of a deposit, the judge and the
// broker killed around a complaint and its void, and a dispute that met a dead
// TTP. A TCP proxy in front of a provider lets a test stop its bytes at an exact
// point of a sale. Each cheque pays once, each void refunds once.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { PurchaseRecord } from '@p2pay/fairex'
import { ApiError, Daemon, audit, waitFor } from './helpers/swarm.ts'
import { FEE, PRICE, buy, logCount, purchaseOf, saleOf, sha256File, snOf, useMarket } from './helpers/fairex.ts'
import { attempt, sleep } from './helpers/crash.ts'
import { CutAfter23 } from '../scripts/lib/cut-relay.ts'

const m = useMarket('fairex-crash', { P: [], D: [], E: [], F: ['--dht', 'false'], Q: ['--allow-cheats'] })
const { bal, value, chequeOf, judgeBans, holds, share, outPath } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon, D: Daemon, E: Daemon, F: Daemon, Q: Daemon
before(async () => {
  await m.ready
  ;({ broker, ttp, judge } = m)
  ;({ P, D, E, F, Q } = m.nodes)
})

/** Rejects after `ms` with `what` in the message, so no await in a test is unbounded. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      })
    ])
  } finally {
    clearTimeout(t)
  }
}

const proxies: CutAfter23[] = []
after(async () => {
  await Promise.allSettled(proxies.map(async p => await p.close()))
})

test(
  '2 provider killed -9 after 2.3, before 2.4: D gets K from the TTP; P, ' +
    'restarted, picks its cheque up at deposit and is paid once',
  { timeout: 90_000 },
  async t => {
    const size = 4 * 1024 * 1024 + 777
    const f = await share(P, 'big.bin', { size })
    const before = { P: await bal(P.peerId), F: await bal(F.peerId), Fv: await value(F.peerId) }
    // F (no DHT, never connected to P) reaches P only through the proxy, which loses everything P sends after D's 2.3
    const proxy = await CutAfter23.start({ ip: '127.0.0.1', port: Number(P.addr.split('/')[4]) }, '127.0.0.1', size)
    proxies.push(proxy)
    const out = outPath('big.bin')
    const bought = buy(F, proxy.addr(P.peerId), f.fileId, out)
    bought.catch(() => {})
    await within(
      45_000,
      "D's 2.3 through the proxy",
      Promise.race([
        proxy.cut,
        bought.then(r => {
          throw new Error(`purchase ended before 2.3 was seen: ${JSON.stringify(r)}`)
        })
      ])
    )
    // P has 2.3: its deposit item is on disk before it sends 2.4, which the proxy drops
    await waitFor(
      'P to record the countersigned sale',
      async () => (await saleOf(P, F.peerId, f.fileId))?.status === 'paid',
      10_000
    )
    await P.kill9()
    proxy.destroyAll()
    t.diagnostic(
      `proxy: ${proxy.down} bytes to D, ${proxy.up} to P, ${proxy.dropped} dropped after 2.3, ` +
        `${proxy.connections} connection(s); chunks from D after the pieces: ${proxy.watched.join(', ')}`
    )
    assert.ok(proxy.down >= size, 'the sale went through the proxy')

    const rec = await within(45_000, 'the purchase', bought)
    assert.deepEqual([rec.status, rec.via], ['done', 'ttp'], JSON.stringify(rec))
    assert.equal(await sha256File(out), f.sha)
    const dispute = (await ttp.api('GET', '/v1/fairex/disputes')).disputes.find(
      (d: any) => d.downloader === F.peerId && d.chequeSn === snOf(rec.serial)
    )
    assert.ok(dispute != null && dispute.delivered === undefined, "the TTP holds P's cheque")

    await P.start()
    const dep = await attempt(10, 500, async () => await P.api('POST', '/v1/fairex/deposit'))
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
      [['paid', F.peerId, snOf(rec.serial)]],
      "one cheque, though P holds it twice (its own item and the TTP's)"
    )
    const delivered = (await ttp.api('GET', '/v1/fairex/disputes')).disputes.find((d: any) => d.id === dispute.id)
    assert.ok(delivered.delivered > 0, 'P fetched its cheque from the TTP')
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(F.peerId), before.F - PRICE)
    assert.equal(await value(F.peerId), before.Fv - PRICE)
    assert.deepEqual(await judgeBans(), [])
    await holds()
    await proxy.close()
  }
)

test(
  "2b a buyer given a provider's new address uses it (here: the proxy of test 2 is gone, P is at its own address)",
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'moved.bin', { size: 1024 * 1024 + 7 })
    const before = { F: await value(F.peerId) }
    try {
      const rec = await buy(F, P, f.fileId, outPath('moved.bin'))
      assert.deepEqual([rec.status, rec.via], ['done', 'key'])
      assert.equal(await value(F.peerId), before.F)
    } finally {
      await P.api('POST', '/v1/fairex/deposit')
    }
    await holds()
  }
)

test(
  '8a kill -9 of the broker in the middle of a deposit: after the restart the cheque is paid exactly once',
  { timeout: 90_000 },
  async t => {
    const before = { P: await bal(P.peerId), ac: await bal(broker.peerId) }
    const sell = async (name: string): Promise<PurchaseRecord> => {
      const f = await share(P, name, { size: 2 * 1024 * 1024 + 31 })
      const rec = await buy(D, P, f.fileId, outPath(name))
      assert.equal(rec.status, 'done')
      return rec
    }

    // the deposit reaches a broker that is stopped (SIGSTOP), which is then killed: it never ran the deposit
    const a = await sell('crash-broker-a.bin')
    broker.proc!.kill('SIGSTOP')
    const first = P.api('POST', '/v1/fairex/deposit').then(
      r => ({ ok: r }),
      (err: unknown) => ({ err })
    )
    await sleep(500)
    await broker.kill9()
    const lost = await within(30_000, 'the interrupted deposit', first)
    assert.ok('err' in lost, `the deposit cannot have been answered: ${JSON.stringify(lost)}`)
    await broker.start()
    assert.equal(
      (await chequeOf(P.peerId, D.peerId, snOf(a.serial))).status,
      'reserved',
      'the killed broker never ran the deposit'
    )
    const again = await attempt(20, 500, async () => await P.api('POST', '/v1/fairex/deposit'))
    assert.deepEqual(
      again.results.map((r: any) => [r.status, r.chequeSn]),
      [['paid', snOf(a.serial)]]
    )
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)

    // killed at a random moment of a deposit: whether it was answered, paid unanswered or not run, the retry settles it
    // once
    const b = await sell('crash-broker-b.bin')
    const second = P.api('POST', '/v1/fairex/deposit').then(
      r => ({ ok: r }),
      (err: unknown) => ({ err })
    )
    await sleep(Math.floor(Math.random() * 10))
    await broker.kill9()
    const outcome = await within(30_000, 'the interrupted deposit', second)
    t.diagnostic(
      'deposit during the kill: ' +
        ('ok' in outcome
          ? `answered ${JSON.stringify(outcome.ok.results.map((r: any) => r.status))}`
          : `failed: ${String((outcome.err as Error).message).slice(0, 120)}`)
    )
    await broker.start()
    const retry = await attempt(20, 500, async () => await P.api('POST', '/v1/fairex/deposit'))
    t.diagnostic(
      'deposit after the restart: ' +
        JSON.stringify(retry.results.map((r: any) => (r.status === 'refused' ? r.code : r.status)))
    )
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] }, 'the queue is empty')
    for (const rec of [a, b]) assert.equal((await chequeOf(P.peerId, D.peerId, snOf(rec.serial))).status, 'paid')
    assert.equal(
      await bal(P.peerId),
      before.P + 2 * (PRICE - FEE),
      'each cheque paid exactly once, one fee per paying batch'
    )
    assert.equal(await bal(broker.peerId), before.ac + 2 * FEE)
    assert.ok(!(await judgeBans()).includes(P.peerId))
    await holds()
  }
)

test(
  '8c kill -9 of the judge before a complaint and of the broker before ' +
    'its void: one verdict, one void, D refunded exactly once',
  { timeout: 90_000 },
  async () => {
    const f = await share(Q, 'crash-judge.bin', { cheat: true })
    const before = {
      Q: await bal(Q.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      voids: ((await audit(broker)) as any).ac.voids
    }
    await judge.kill9()
    const out = outPath('crash-judge.bin')
    // K' from Q, K' from the TTP, and no judge to complain to
    await assert.rejects(buy(D, Q, f.fileId, out), (err: unknown) => err instanceof ApiError)
    const rec = await purchaseOf(D, f.fileId)
    assert.notEqual(rec.status, 'done')
    assert.equal(existsSync(out), false)
    await judge.start()
    await broker.kill9()
    // D complains again with its stored evidence: providerBan; the void waits for the broker
    const v = await attempt(
      10,
      300,
      async () => await D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) })
    )
    assert.deepEqual([v.ruling, v.reason], ['providerBan', 'wrongKey'])
    assert.ok(v.ban != null)
    const pending = (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.find(
      (x: any) => x.chequeSn === snOf(rec.serial)
    )
    assert.equal(pending.void?.status, 'pending')
    await broker.start()
    await waitFor(
      "the void after the broker's restart",
      async () =>
        (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.find((x: any) => x.chequeSn === snOf(rec.serial))?.void
          ?.status === 'voided',
      20_000
    )
    assert.equal(await bal(D.peerId), before.D, 'D refunded')
    // the judge killed again after the void: restarting does not void twice
    await judge.kill9()
    await judge.start()
    await sleep(1500)
    assert.equal(await bal(D.peerId), before.D, 'refunded once')
    assert.equal(await value(D.peerId), before.Dv)
    assert.equal(((await audit(broker)) as any).ac.voids, before.voids + 1)
    assert.equal(logCount(broker, 'cheque voided by verdict', snOf(rec.serial)), 1)
    // the same complaint again: the same verdict, no second void
    const v2 = await D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) })
    assert.equal(v2.hash, v.hash)
    // Q's deposit is refused; Q is banned
    const dep = await attempt(10, 500, async () => await Q.api('POST', '/v1/fairex/deposit'))
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.code]),
      [['refused', 'FRAUD']]
    )
    assert.equal(await bal(Q.peerId), before.Q)
    assert.ok((await judgeBans()).includes(Q.peerId))
    await holds()
  }
)

test('8d a purchase whose dispute met a dead TTP completes once the TTP is back', { timeout: 90_000 }, async t => {
  const size = 3 * 1024 * 1024 + 1111
  const f = await share(E, 'dead-ttp.bin', { size })
  const before = { E: await bal(E.peerId), F: await bal(F.peerId), Fv: await value(F.peerId) }
  const proxy = await CutAfter23.start({ ip: '127.0.0.1', port: Number(E.addr.split('/')[4]) }, '127.0.0.1', size)
  proxies.push(proxy)
  await ttp.kill9()
  const out = outPath('dead-ttp.bin')
  const bought = buy(F, proxy.addr(E.peerId), f.fileId, out)
  bought.catch(() => {})
  try {
    await within(
      45_000,
      "D's 2.3 through the proxy",
      Promise.race([
        proxy.cut,
        bought.then(r => {
          throw new Error(`purchase ended before 2.3 was seen: ${JSON.stringify(r)}`)
        })
      ])
    )
    await waitFor(
      'E to record the countersigned sale',
      async () => (await saleOf(E, F.peerId, f.fileId))?.status === 'paid',
      10_000
    )
    proxy.destroyAll()
    await assert.rejects(within(45_000, 'the purchase', bought), 'no key from E, no TTP')
  } finally {
    await ttp.start()
  }
  // E is paid for what F signed
  const dep = await attempt(10, 500, async () => await E.api('POST', '/v1/fairex/deposit'))
  assert.deepEqual(
    dep.results.map((r: any) => [r.status, r.downloader]),
    [['paid', F.peerId]]
  )
  assert.equal(await bal(E.peerId), before.E + PRICE - FEE)
  await holds()
  t.diagnostic(`F's purchase after the TTP's restart: ${JSON.stringify(await purchaseOf(F, f.fileId))}`)
  // so F must get its file: its dispute resumes with the TTP back (retry interval 1 s)
  const rec = await waitFor(
    "F's dispute to complete",
    async () => {
      const r = await purchaseOf(F, f.fileId)
      return r.status === 'done' ? r : undefined
    },
    15_000
  )
  assert.equal(rec.via, 'ttp')
  assert.equal(await sha256File(out), f.sha)
  assert.equal(await value(F.peerId), before.Fv - PRICE)
})
