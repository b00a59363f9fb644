// The file market's limits with every party a real process (test/helpers/fairex.ts):
// what a downloader can make a provider store and ask of the AC with one
// certificate, a purchase into a full disk (a small tmpfs), a banned provider's
// deposits while its ban lasts, and a downloader killed in the middle of a file.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { Store, randomId, toB64 } from '@p2pay/core'
import { onKey, signRequest } from '@p2pay/fairex'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { ApiError, Daemon, waitFor } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  PRICE,
  buy,
  certificateFor,
  logCount,
  openSale,
  purchaseOf,
  rawBuy,
  rawRequest,
  sha256File,
  verifier,
  useMarket
} from './helpers/fairex.ts'

// F and Q run without the DHT: F reaches Q only through a stalling proxy
const m = useMarket('fairex-limits', {
  P: [],
  D: [],
  C: ['--allow-cheats'],
  F: ['--dht', 'false'],
  Q: ['--dht', 'false']
})
const { bal, certsOf, value, holds, share, judgeBans } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon, D: Daemon, C: Daemon, F: Daemon, Q: Daemon
let L: RawPeer
before(async () => {
  await m.ready
  ;({ broker, ttp, judge, L } = m)
  ;({ P, D, C, F, Q } = m.nodes)
})

/**
 * A TCP proxy in front of a provider that stops forwarding the provider's bytes
 * once `after` of them went through: a download that stalls mid-file.
 */
async function stallProxy(
  targetPort: number,
  after: number
): Promise<{ port: number; stalled: () => boolean; close: () => Promise<void> }> {
  let down = 0
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => {
      if (down >= after) return
      down += chunk.byteLength
      client.write(chunk)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    stalled: () => down >= after,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** How many reservations the broker's AC has checked (each is one signature verified). */
async function reserveCalls(): Promise<number> {
  const text: string = await broker.api('GET', '/metrics')
  const line = text.split('\n').find(l => l.includes('signatures_verified_total{kind="fairex-reserve"}'))
  return Number(line?.split(' ').pop() ?? 0)
}

test(
  'a downloader spending one certificate on many serials: the provider stores a row only for the sale the AC ' +
    'reserved, and asks the AC once more at most',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'limits.bin', { size: 1024 * 1024 + 3 })
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const before = { L: await value(L.peerId), P: await value(P.peerId), calls: await reserveCalls() }
    const request = (): ReturnType<typeof rawRequest> =>
      rawRequest({
        peer: L,
        verifier,
        provider: P.peerId,
        fileId: f.fileId,
        price: PRICE,
        manifestHash: f.manifest,
        ttp: ttp.peerId,
        judge: judge.peerId,
        certificate: cert.certificate
      })
    // the one sale the certificate covers: reserved, then the downloader walks away
    const first = await openSale(L, P.addr, f.fileId, request().message1_1)
    assert.equal(first.first?.m, '1.2', JSON.stringify(first.first))
    first.stream.abort(new Error('the downloader walks away'))
    // then fresh serials on the spent certificate
    const TRIES = 6
    for (let i = 0; i < TRIES; i++) {
      const s = await openSale(L, P.addr, f.fileId, request().message1_1)
      s.stream.abort(new Error('refused'))
      assert.deepEqual([s.first?.m, s.first?.code], ['refuse', 'INSUFFICIENT_FUNDS'], JSON.stringify(s.first))
    }
    const sales = (await P.api('GET', '/v1/fairex/sales')).sales.filter((s: any) => s.downloader === L.peerId)
    assert.equal(sales.length, 1, `rows for ${TRIES + 1} requests: ${JSON.stringify(sales.map((s: any) => s.status))}`)
    assert.ok((await reserveCalls()) - before.calls <= 2, 'the AC was asked once for the sale and once more at most')
    // nobody lost anything: the reservation is the downloader's escrow until the certificate expires
    assert.deepEqual([await value(L.peerId), await value(P.peerId)], [before.L, before.P])
    await holds()
  }
)

test(
  'a purchase into a full disk (a 1 MiB tmpfs): NO_SPACE, not 500; the partial file is removed, nobody pays, ' +
    'and the downloader buys into another disk at once',
  { timeout: 120_000 },
  async t => {
    const small = join(m.filesDir, 'small-disk')
    mkdirSync(small)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'pipe' })
    } catch (err) {
      rmSync(small, { recursive: true, force: true })
      t.skip(`cannot mount a small tmpfs here (needs root): ${String(err).split('\n')[0]}`)
      return
    }
    try {
      const f = await share(P, 'too-big.bin') // 3 MiB
      const before = { D: await value(D.peerId), P: await value(P.peerId) }
      const err = await buy(D, P, f.fileId, join(small, 'too-big.bin')).then(
        () => assert.fail('a 3 MiB file fitted on a 1 MiB disk'),
        (e: unknown) => e
      )
      assert.ok(err instanceof ApiError, String(err))
      assert.deepEqual([err.code, err.status], ['NO_SPACE', 507], err.message)
      assert.deepEqual(readdirSync(small), [], 'the partial download is removed')
      assert.equal((await purchaseOf(D, f.fileId)).status, 'failed')
      // nobody paid: the certificate's escrow is still the downloader's, the provider got nothing
      assert.deepEqual([await value(D.peerId), await value(P.peerId)], [before.D, before.P])
      // the daemon is up and its state writes go through: the same file into a disk with room
      const out = m.outPath('fits.bin')
      assert.equal((await buy(D, P, f.fileId, out)).status, 'done')
      assert.equal(await sha256File(out), f.sha)
      await holds()
    } finally {
      execFileSync('umount', [small], { stdio: 'pipe' })
      rmSync(small, { recursive: true, force: true })
    }
  }
)

test(
  "a provider banned for cheating (sealed a garbage key) deposits an honest buyer's cheque while banned: " +
    'accepted, its proceeds held until the ban ends; the cheated and the honest downloader lose nothing',
  { timeout: 120_000 },
  async () => {
    const honest = await share(C, 'honest.bin', { size: 1024 * 1024 + 7 })
    const bait = await share(C, 'bait.bin', { size: 1024 * 1024 + 9, form: 'fixed', cheat: true })
    const before = { C: await bal(C.peerId), D: await value(D.peerId), L: await value(L.peerId) }
    // L buys the honest file (and gets it) before the verdict; C keeps the cheque for later
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const p = await rawBuy({
      peer: L,
      verifier,
      providerAddr: C.addr,
      provider: C.peerId,
      fileId: honest.fileId,
      price: PRICE,
      manifestHash: honest.manifest,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    })
    assert.ok(onKey(p.state, p.key).ok, 'L has its file')
    // D buys the bait: the key does not open it, the judge bans C, the AC voids the cheque
    const rec = await buy(D, C, bait.fileId, m.outPath('bait.bin'))
    assert.deepEqual([rec.status, rec.ruling], ['refunded', 'providerBan'], JSON.stringify(rec))
    assert.deepEqual(await judgeBans(), [C.peerId], 'the cheater, and only it, is convicted')
    await waitFor("D's refund", async () => (await value(D.peerId)) === before.D, 15_000)
    const until = (await judge.api('GET', '/v1/fairex/bans')).bans[0].until
    // C deposits while banned: the cheat is refused, the honest cheque accepted but not paid
    const dep = await C.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => r.status + (r.code != null ? ` ${r.code}` : '')).sort(),
      ['held', 'refused FRAUD'],
      JSON.stringify(dep)
    )
    assert.deepEqual([dep.paid, dep.held, dep.fee, dep.releaseAt], [0, PRICE, 0, until])
    assert.equal(await bal(C.peerId), before.C, 'nothing paid to a banned provider')
    const held = (await broker.api('GET', '/v1/fairex/holds')).holds.filter((h: any) => h.provider === C.peerId)
    assert.deepEqual(
      held.map((h: any) => h.releaseAt),
      [until]
    )
    // a release now pays C nothing
    await broker.api('POST', '/v1/fairex/release')
    assert.equal(await bal(C.peerId), before.C)
    assert.equal(await value(D.peerId), before.D, 'D lost nothing')
    // L's price for the file it got waits in its certificate's escrow, to be paid once, when the ban ends
    assert.equal(await value(L.peerId), before.L)
    assert.equal((await certsOf(L.peerId)).find((c: any) => c.hash === cert.hash).held, PRICE)
    await holds()
  }
)

test(
  'a downloader killed -9 mid-download: at its restart the purchase is failed, its partial file removed, ' +
    'nobody paid',
  { timeout: 120_000 },
  async () => {
    const f = await share(Q, 'stalled.bin') // 3 MiB
    const proxy = await stallProxy(Number(Q.addr.split('/')[4]), 1024 * 1024)
    try {
      const before = { F: await value(F.peerId), Q: await value(Q.peerId) }
      const out = m.outPath('stalled.bin')
      const buying = buy(F, `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${Q.peerId}`, f.fileId, out).catch(e => e)
      await waitFor('a partial download', async () => proxy.stalled() && existsSync(`${out}.part`), 30_000)
      await F.kill9()
      await buying
      assert.ok(existsSync(`${out}.part`), 'the crash left the partial file')
      await F.start(60_000)
      assert.equal(existsSync(`${out}.part`), false, 'removed at the restart')
      assert.deepEqual(
        [(await purchaseOf(F, f.fileId)).status, (await purchaseOf(F, f.fileId)).error],
        ['failed', 'interrupted before payment']
      )
      assert.deepEqual([await value(F.peerId), await value(Q.peerId)], [before.F, before.Q])
      await holds()
    } finally {
      await proxy.close()
    }
  }
)

test(
  'a downloader whose clock is 6 min off either way: the provider refuses CLOCK_SKEW naming both clocks, ' +
    'reserves nothing, keeps no row',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'skew.bin', { size: 1024 * 1024 + 11 })
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const rows = async (): Promise<number> => (await P.api('GET', '/v1/fairex/sales')).sales.length
    const before = { rows: await rows(), L: await value(L.peerId) }
    for (const off of [6 * 60_000, -6 * 60_000]) {
      const ts = Date.now() + off
      const req = signRequest(L.key.signer, {
        provider: P.peerId,
        downloader: L.peerId,
        ttp: ttp.peerId,
        fileId: f.fileId,
        chequeSn: randomId(8),
        ts,
        price: PRICE
      })
      const s = await openSale(L, P.addr, f.fileId, { request: toB64(req.bytes), certificate: cert.certificate })
      s.stream.abort(new Error('refused'))
      assert.deepEqual([s.first?.m, s.first?.code], ['refuse', 'CLOCK_SKEW'], JSON.stringify(s.first))
      assert.ok(String(s.first.message).includes(new Date(ts).toISOString()), s.first.message)
      assert.match(
        s.first.message,
        off > 0 ? /6(\.\d)? min ahead of this clock \(20/ : /6(\.\d)? min behind this clock \(20/
      )
    }
    assert.equal(await rows(), before.rows)
    assert.equal((await certsOf(L.peerId)).find((c: any) => c.hash === cert.hash).reserved, 0, 'nothing reserved')
    assert.equal(await value(L.peerId), before.L)
    await holds()
  }
)

test(
  'a file shared by an earlier release in more pieces than a buyer takes is not offered, says why, costs no buyer ' +
    'anything, and sells once shared again',
  { timeout: 120_000 },
  async () => {
    const f = await share(Q, 'old-release.bin', { size: 70_000 })
    // what an earlier release wrote for a file of more than 65,536 pieces (no release hashes 16 GiB in a test)
    await Q.stop()
    const store = new Store(join(Q.dataDir, 'db'))
    await store.open()
    try {
      const shared = await store.table<any>('fairex-shared')
      await store.apply(() => shared.set(f.fileId, { ...shared.get(f.fileId), pieceCount: 65_537 }))
    } finally {
      await store.close()
    }
    await Q.start()
    const listed = (await Q.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId)
    assert.equal(listed.offered, false)
    assert.match(listed.why, /65537 pieces, more than the 65536 a buyer accepts; share .* again/)
    assert.ok(logCount(Q, 'a shared file is not offered', f.fileId) >= 1, 'the owner is told at start')

    const before = { D: await value(D.peerId), L: await value(L.peerId), rows: await rowsOf(Q) }
    // through the catalog: not offered
    await assert.rejects(buy(D, Q, f.fileId, m.outPath('old.out')), (e: ApiError) => {
      assert.equal(e.code, 'NOT_FOUND')
      assert.match(e.message, /does not offer/)
      return true
    })
    // straight to the sale stream: refused before anything is reserved
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const { message1_1 } = rawRequest({
      peer: L,
      verifier,
      provider: Q.peerId,
      fileId: f.fileId,
      price: PRICE,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    })
    const s = await openSale(L, Q.addr, f.fileId, message1_1)
    s.stream.abort(new Error('refused'))
    assert.deepEqual([s.first?.m, s.first?.code], ['refuse', 'NOT_FOUND'], JSON.stringify(s.first))
    assert.match(s.first.message, /file not offered: shared in 65537 pieces/)
    assert.equal((await certsOf(L.peerId)).find((c: any) => c.hash === cert.hash).reserved, 0, 'nothing reserved')
    assert.deepEqual(
      { D: await value(D.peerId), L: await value(L.peerId), rows: await rowsOf(Q) },
      before,
      'no value moved, no sale row'
    )

    // shared again, the file has the pieces a buyer takes, and sells
    const again = await Q.api('POST', '/v1/fairex/share', { path: f.path, price: PRICE })
    assert.equal(again.fileId, f.fileId)
    assert.equal((await Q.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId).offered, true)
    const out = m.outPath('old-again.out')
    assert.equal((await buy(D, Q, f.fileId, out)).status, 'done')
    assert.equal(await sha256File(out), f.sha)
    await holds()
  }
)

const rowsOf = async (d: Daemon): Promise<number> => (await d.api('GET', '/v1/fairex/sales')).sales.length
