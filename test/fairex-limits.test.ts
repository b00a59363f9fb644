// The file market's limits with every party a real process (test/helpers/fairex.ts):
// what a downloader can make a provider store and ask of the AC with one
// certificate, and a purchase into a full disk (a small tmpfs).
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, Daemon } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  PRICE,
  buy,
  certificateFor,
  openSale,
  purchaseOf,
  rawRequest,
  sha256File,
  verifier,
  useMarket
} from './helpers/fairex.ts'

const m = useMarket('fairex-limits', { P: [], D: [] })
const { value, holds, share } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon, D: Daemon
let L: RawPeer
before(async () => {
  await m.ready
  ;({ broker, ttp, judge, L } = m)
  ;({ P, D } = m.nodes)
})

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
