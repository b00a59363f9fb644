// The file market end to end with every party a real process: the broker (with
// its accounting centre), the TTP, the judge and the nodes, started through the
// CLI on 127.0.0.1. Nodes share random files of a few MiB (never a multiple of
// the piece size) and buy them from each other over libp2p. Where a party must
// misbehave in a way no node can be told to (lie to the judge, replay a
// request, deposit a cheque twice), a libp2p peer in this process plays it with
// sale.ts and messages.ts against the daemons. Every scenario checks who was
// convicted or banned, that no honest party lost value (broker balances and
// certificate escrow before and after), and the broker's conservation audit.
// A provider reserves the price at the AC before its first piece, and the AC
// keys each sale by (provider, downloader, serial). The main market's AC pays
// a deposit at once (--proceeds-hold-s 0) and its nodes deposit only when told
// to (--auto-deposit-s 0); test 9c runs a second market with a complaint window.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode,
  P2payError,
  RpcClient,
  Verifier,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  toB64,
  toHex
} from '@p2pay/core'
import {
  FAIREX_PROTOCOL,
  acceptRequest,
  chequeMessage,
  complaint,
  disputeBundle,
  merkleRoot,
  onAccept,
  onCheque,
  onChequeAccepted,
  onKey,
  onPiece,
  pieceHash,
  pieceToSend,
  signDepositRequest,
  signManifest,
  signRequest,
  startPurchase,
  type DepositItem,
  type DepositResult,
  type Message1_1,
  type Purchase,
  type PurchaseRecord
} from '@p2pay/fairex'
import { ApiError, Daemon, Swarm, audit, waitFor } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  CutProxy,
  assemble,
  certificateFor,
  closeSale,
  finishBuy,
  openSale,
  randomFile,
  rawBuy,
  rawRequest,
  reserveAt,
  sha256File,
  within
} from './helpers/fairex.ts'
import { attempt, sleep } from './helpers/crash.ts'

const verifier = new Verifier(nodeEd25519())
const PRICE = 25
const FEE = 1
const TOPUP = 1000
const MAX_CERT = 1000
const PIECE = 256 * 1024
/** 3 MiB and a bit: 13 pieces, the last one short */
const SIZE = 3 * 1024 * 1024 + 12_345
const DAY = 24 * 3600 * 1000

const swarm = new Swarm('fairex')
let broker: Daemon, ttp: Daemon, judge: Daemon
/**
 * P honest provider (fixed form); C cheat-capable provider with --sale-form original; D, E downloaders; F downloader
 * without DHT (reaches providers only through the test's proxy); Q second cheat-capable provider
 */
let P: Daemon, C: Daemon, D: Daemon, E: Daemon, F: Daemon, Q: Daemon
/** a downloader (L) and a provider (R) in this process */
let L: RawPeer, R: RawPeer
let filesDir = ''
const clients: RpcClient[] = []
const proxies: CutProxy[] = []
/** raw peers a test starts for itself */
const extraPeers: RawPeer[] = []

function client(peer: RawPeer, d: Daemon, protocol: string): RpcClient {
  const c = new RpcClient(peer.node, multiaddr(d.addr), protocol, { defaultTimeoutMs: 15_000 })
  clients.push(c)
  return c
}

const bal = async (id: string, b: Daemon = broker): Promise<number> =>
  (await b.api('GET', `/v1/account?id=${id}`)).balance
const certsOf = async (peer: string, b: Daemon = broker): Promise<any[]> =>
  (await b.api('GET', '/v1/fairex/certificates')).certificates.filter((c: any) => c.peer === peer)
/** what a party owns at the broker: its balance plus what its certificates still hold in escrow */
const value = async (peer: string): Promise<number> =>
  (await bal(peer)) + (await certsOf(peer)).reduce((n, c) => n + c.escrow, 0)
/** The AC's record of one sale, keyed as the AC keys it: (provider, downloader, serial) */
const chequeOf = async (provider: string, downloader: string, chequeSn: string, b: Daemon = broker): Promise<any> =>
  (await b.api('GET', '/v1/fairex/cheques')).cheques.find(
    (c: any) => c.provider === provider && c.downloader === downloader && c.chequeSn === chequeSn
  )
const snOf = (serial: string): string => serial.slice(serial.indexOf('|') + 1)
const judgeBans = async (): Promise<string[]> => (await judge.api('GET', '/v1/judge/bans')).bans.map((b: any) => b.peer)
const purchaseOf = async (d: Daemon, fileId: string): Promise<PurchaseRecord> =>
  (await d.api('GET', '/v1/fairex/purchases')).purchases.find((p: PurchaseRecord) => p.fileId === fileId)
const saleOf = async (d: Daemon, downloader: string, fileId: string): Promise<any> =>
  (await d.api('GET', '/v1/fairex/sales')).sales.find((s: any) => s.downloader === downloader && s.fileId === fileId)
const holds = async (b: Daemon = broker): Promise<void> => {
  assert.equal((await audit(b)).holds, true, `audit: ${JSON.stringify(await audit(b))}`)
}
const logCount = (d: Daemon, ...parts: string[]): number =>
  readFileSync(d.dataDir + '.log', 'utf8')
    .split('\n')
    .filter(l => parts.every(p => l.includes(p))).length

async function share(
  node: Daemon,
  name: string,
  opts: { size?: number; form?: 'original' | 'fixed'; cheat?: boolean } = {}
): Promise<{ fileId: string; path: string; sha: string; manifest: string }> {
  const path = join(filesDir, `${randomId(4)}-${name}`)
  const sha = randomFile(path, opts.size ?? SIZE)
  const r = await node.api('POST', '/v1/fairex/share', {
    path,
    price: PRICE,
    name,
    ...(opts.form != null ? { form: opts.form } : {}),
    ...(opts.cheat === true ? { cheat: true } : {})
  })
  return { fileId: r.fileId, path, sha, manifest: r.manifest }
}

const outPath = (name: string): string => join(filesDir, `out-${randomId(4)}-${name}`)
async function buy(
  d: Daemon,
  provider: Daemon | string,
  fileId: string,
  out: string,
  form?: 'original' | 'fixed'
): Promise<PurchaseRecord> {
  return await d.api('POST', '/v1/fairex/buy', {
    provider: typeof provider === 'string' ? provider : provider.addr,
    fileId,
    out,
    ...(form != null ? { form } : {})
  })
}

async function rejectsApi(p: Promise<unknown>, code: string, message?: RegExp): Promise<ApiError> {
  let caught: unknown
  await assert.rejects(p, (err: unknown) => {
    caught = err
    return err instanceof ApiError && err.code === code && (message == null || message.test(err.message))
  })
  return caught as ApiError
}
async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof P2payError && err.code === code)
}

interface LocalSale {
  deposit: DepositItem
  chequeSn: string
  state: Purchase
  message1_1: Message1_1
}

/**
 * A whole fixed-form sale between two peers of this process (no stream), with
 * the provider's reservation at the AC of broker `ac` before any piece (the
 * AC's refusal is thrown): the deposit item and D's state. `chequeSn` makes D
 * sign its request with that serial; `garbageKey` makes the provider seal K'
 * in Z and send it as 2.4 (the paper's attack); `reserve: false` skips the
 * reservation.
 */
async function localSale(o: {
  prov: RawPeer
  down: RawPeer
  ac: Daemon
  certificate: string
  price: number
  chequeNow?: number
  chequeSn?: string
  garbageKey?: Uint8Array
  reserve?: boolean
}): Promise<LocalSale> {
  const piece = 16 * 1024
  const data = new Uint8Array(randomBytes(3 * piece + 100))
  const pieces: Uint8Array[] = []
  for (let off = 0; off < data.byteLength; off += piece) pieces.push(data.subarray(off, off + piece))
  const hashes = pieces.map(pieceHash)
  const fileId = toHex(merkleRoot(hashes))
  const manifest = signManifest(o.prov.key.signer, {
    fileId,
    name: 'x.bin',
    size: data.byteLength,
    pieceSize: piece,
    price: o.price,
    createdAt: Date.now()
  })
  let { state, message1_1 } = startPurchase({
    signer: o.down.key.signer,
    verifier,
    provider: o.prov.peerId,
    fileId,
    price: o.price,
    ttp: ttp.peerId,
    judge: judge.peerId,
    certificate: o.certificate,
    form: 'fixed',
    now: Date.now()
  })
  if (o.chequeSn != null) {
    // D signs the same request with the serial it chose (startPurchase draws a fresh one)
    const req = signRequest(o.down.key.signer, { ...state.req.body, chequeSn: o.chequeSn })
    state = { ...state, req }
    message1_1 = { ...message1_1, request: toB64(req.bytes) }
  }
  const accepted = acceptRequest({
    signer: o.prov.key.signer,
    verifier,
    manifest,
    pieceHashes: hashes,
    message1_1,
    ac: o.ac.peerId,
    judge: judge.peerId,
    ttps: [ttp.peerId],
    form: 'fixed',
    now: Date.now(),
    maxSkewMs: 30_000
  })
  assert.ok('sale' in accepted, JSON.stringify(accepted))
  // as a provider daemon does: the price is reserved before the first piece (unless the test plays a provider that does
  // not)
  if (o.reserve !== false) await reserveAt(o.prov, o.ac.addr, message1_1)
  onAccept(state, accepted.message1_2)
  pieces.forEach((plain, i) => onPiece(state, i, pieceToSend(accepted.sale, i, plain)))
  const m23 = onCheque(
    state,
    chequeMessage(accepted.sale, {
      now: o.chequeNow ?? Date.now(),
      ...(o.garbageKey != null ? { garbageKey: o.garbageKey } : {})
    })
  )
  const { message2_4, deposit } = onChequeAccepted(accepted.sale, m23)
  assert.equal(onKey(state, message2_4.key).ok, o.garbageKey == null)
  return { deposit, chequeSn: state.req.body.chequeSn, state, message1_1 }
}

/** A signed deposit request for `items` by `prov`; `send` can be called again with the very same bytes. */
function depositRequest(
  prov: RawPeer,
  b: Daemon,
  items: DepositItem[],
  nonce = randomId(8)
): { send: () => Promise<DepositResult> } {
  const req = signDepositRequest(prov.key.signer, {
    ac: b.peerId,
    provider: prov.peerId,
    nonce,
    cheques: items.map(i => sha256Hex(fromB64(i.cheque)))
  })
  const c = client(prov, b, FAIREX_PROTOCOL.ac)
  return { send: async () => await c.call<DepositResult>('deposit', { request: toB64(req.bytes), items }) }
}

before(async () => {
  // this market's AC pays a deposited cheque at once (no complaint window; test 9c runs a market with one),
  // and its nodes deposit only when told to: every test says when a provider is paid
  const m = await swarm.startMarket(
    ['--deposit-fee', String(FEE), '--max-cert-value', String(MAX_CERT), '--proceeds-hold-s', '0'],
    ['--retry-interval-ms', '200']
  )
  ;({ broker, ttp, judge } = m)
  const common = [
    '--broker',
    broker.addr,
    '--owner-timeout-ms',
    '2000',
    '--retry-interval-ms',
    '1000',
    '--auto-deposit-s',
    '0',
    ...m.nodeArgs
  ]
  const node = (name: string, extra: string[] = []): Daemon =>
    new Daemon('node', join(swarm.dir, name), [...common, ...extra])
  const nodes = [
    node('P'),
    node('C', ['--allow-cheats', '--sale-form', 'original']),
    node('D'),
    node('E'),
    node('F', ['--dht', 'false']),
    node('Q', ['--allow-cheats'])
  ]
  swarm.nodes.push(...nodes)
  await Promise.all(nodes.map(async n => await n.start(60_000)))
  ;[P, C, D, E, F, Q] = nodes
  ;[L, R] = await Promise.all([RawPeer.start(), RawPeer.start()])
  for (const id of [...nodes.map(n => n.peerId), L.peerId, R.peerId])
    await broker.api('POST', '/v1/topup', { account: id, amount: TOPUP })
  filesDir = join(swarm.dir, 'files')
  mkdirSync(filesDir)
})

after(async () => {
  await Promise.allSettled(proxies.map(async p => await p.close()))
  await Promise.allSettled(clients.map(async c => await c.close()))
  await Promise.allSettled([L, R, ...extraPeers].filter(Boolean).map(async p => await p.stop()))
  await swarm.stopAll()
})

test(
  '1a honest sale, fixed form: byte-identical file via the key; the deposit pays the price less the fee',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'film.bin')
    assert.equal((await P.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId).form, 'fixed')
    const before = {
      P: await bal(P.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      ac: await bal(broker.peerId)
    }

    const out = outPath('film.bin')
    const rec = await buy(D, P, f.fileId, out)
    assert.deepEqual([rec.status, rec.via, rec.price, rec.provider], ['done', 'key', PRICE, P.peerId])
    assert.equal(await sha256File(out), f.sha, 'the file D has is the file P shared')
    // the price left D's balance for the certificate's escrow: D owns as much as before until P deposits
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv)
    assert.equal((await saleOf(P, D.peerId, f.fileId)).status, 'paid')

    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn, r.price]),
      [['paid', D.peerId, snOf(rec.serial), PRICE]]
    )
    assert.deepEqual([dep.paid, dep.fee], [PRICE, FEE])
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(broker.peerId), before.ac + FEE, 'the fee goes to the AC')
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv - PRICE, "D's escrow paid P")
    assert.equal((await chequeOf(P.peerId, D.peerId, snOf(rec.serial))).status, 'paid')
    // nothing more to deposit, nobody convicted
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.deepEqual(await judgeBans(), [])
    await holds()
  }
)

test('1b honest sale, original form (provider started with --sale-form original)', { timeout: 60_000 }, async () => {
  const f = await share(C, 'song.bin', { size: 2 * 1024 * 1024 + 4321 })
  assert.equal((await C.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId).form, 'original')
  const before = { C: await bal(C.peerId), D: await bal(D.peerId), Dv: await value(D.peerId) }
  const out = outPath('song.bin')
  const rec = await buy(D, C, f.fileId, out, 'original') // a buyer takes the original form only when asked to
  assert.deepEqual([rec.status, rec.via], ['done', 'key'])
  assert.equal(await sha256File(out), f.sha)
  const dep = await C.api('POST', '/v1/fairex/deposit')
  assert.deepEqual(
    dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
    [['paid', D.peerId, snOf(rec.serial)]]
  )
  assert.equal(await bal(C.peerId), before.C + PRICE - FEE)
  assert.equal(await bal(D.peerId), before.D - PRICE)
  assert.equal(await value(D.peerId), before.Dv - PRICE)
  assert.deepEqual(await judgeBans(), [])
  await holds()
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
    const proxy = await CutProxy.start(Number(P.addr.split('/')[4]), size)
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
      `proxy: ${proxy.down} bytes to D, ${proxy.up} to P, ${proxy.dropped} dropped after 2.3, ${proxy.connections} connection(s); chunks from D after the pieces: ${proxy.watched.join(', ')}`
    )
    assert.ok(proxy.down >= size, 'the sale went through the proxy')

    const rec = await within(45_000, 'the purchase', bought)
    assert.deepEqual([rec.status, rec.via], ['done', 'ttp'], JSON.stringify(rec))
    assert.equal(await sha256File(out), f.sha)
    const dispute = (await ttp.api('GET', '/v1/ttp/disputes')).disputes.find(
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
    const delivered = (await ttp.api('GET', '/v1/ttp/disputes')).disputes.find((d: any) => d.id === dispute.id)
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
  "3 the paper's attack on the original protocol: K' in Z; D has no file, the TTP hands out K', P is paid, nobody is banned",
  { timeout: 60_000 },
  async () => {
    const f = await share(C, 'bait.bin', { form: 'original', cheat: true })
    const before = {
      C: await bal(C.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      verdicts: (await judge.api('GET', '/v1/judge/verdicts')).verdicts.length
    }
    const out = outPath('bait.bin')
    const rec = await buy(D, C, f.fileId, out, 'original') // a buyer takes the original form only when asked to
    assert.deepEqual([rec.status, rec.via], ['failed', 'ttp'], JSON.stringify(rec))
    assert.equal(existsSync(out), false, 'D has no file')
    assert.equal((await saleOf(C, D.peerId, f.fileId)).cheated, true)
    const dispute = (await ttp.api('GET', '/v1/ttp/disputes')).disputes.find(
      (d: any) => d.downloader === D.peerId && d.chequeSn === snOf(rec.serial)
    )
    assert.equal(dispute?.form, 'original', "the TTP resolved it, with K'")
    // the original cheque binds no request: there is nothing D can take to the judge
    await rejectsApi(D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) }), 'NOT_FOUND')

    const dep = await C.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
      [['paid', D.peerId, snOf(rec.serial)]]
    )
    assert.equal(await bal(C.peerId), before.C + PRICE - FEE, 'the cheater is paid')
    assert.equal(await value(D.peerId), before.Dv - PRICE, 'the downloader paid for nothing: the flaw')
    assert.deepEqual(await judgeBans(), [])
    assert.deepEqual((await D.api('GET', '/v1/fairex/bans')).bans, [])
    assert.equal((await judge.api('GET', '/v1/judge/verdicts')).verdicts.length, before.verdicts)
    await holds()
  }
)

test(
  '4 the same attack on the fixed protocol: providerBan, the cheque ' +
    'voided, D refunded, the deposit refused, nobody buys from the banned ' +
    'provider',
  { timeout: 60_000 },
  async () => {
    const f = await share(C, 'bait2.bin', { form: 'fixed', cheat: true })
    const before = {
      C: await bal(C.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      E: await bal(E.peerId),
      Ev: await value(E.peerId)
    }
    const out = outPath('bait2.bin')
    const rec = await buy(D, C, f.fileId, out)
    assert.deepEqual([rec.status, rec.via, rec.ruling], ['refunded', 'judge', 'providerBan'], JSON.stringify(rec))
    assert.equal(existsSync(out), false)
    assert.deepEqual(await judgeBans(), [C.peerId], 'the judge banned the provider, and only it')
    const verdict = (await judge.api('GET', '/v1/judge/verdicts')).verdicts.find(
      (v: any) => v.chequeSn === snOf(rec.serial)
    )
    assert.deepEqual(
      [verdict.ruling, verdict.reason, verdict.provider, verdict.downloader],
      ['providerBan', 'wrongKey', C.peerId, D.peerId]
    )

    // the judge's void reaches the AC: D's escrow for this cheque comes back
    await waitFor("D's refund", async () => (await bal(D.peerId)) === before.D, 15_000)
    const cheque = await chequeOf(C.peerId, D.peerId, snOf(rec.serial))
    assert.deepEqual(
      [cheque.status, cheque.void.from, cheque.void.refunded, cheque.void.shortfall],
      ['void', 'escrow', PRICE, 0]
    )
    assert.equal(await value(D.peerId), before.Dv, 'D lost nothing')

    // the cheater's deposit of that cheque is refused, and costs it nothing
    const dep = await C.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.code]),
      [['refused', 'FRAUD']]
    )
    assert.deepEqual([dep.paid, dep.fee], [0, 0])
    assert.equal(await bal(C.peerId), before.C)
    assert.deepEqual(
      await C.api('POST', '/v1/fairex/deposit'),
      { paid: 0, fee: 0, results: [] },
      'the refused cheque left the queue'
    )

    // D holds the ban; E learns it from the judge: neither buys from C, and no escrow is taken for trying
    assert.deepEqual(
      (await D.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer),
      [C.peerId]
    )
    const honest = await share(C, 'honest-after-ban.bin', { form: 'fixed' })
    await rejectsApi(buy(D, C, honest.fileId, outPath('x')), 'FRAUD')
    await rejectsApi(buy(E, C, honest.fileId, outPath('y')), 'FRAUD')
    assert.equal(await bal(E.peerId), before.E)
    assert.equal(await value(E.peerId), before.Ev)
    assert.equal(await value(D.peerId), before.Dv)
    assert.deepEqual(
      (await C.api('GET', '/v1/fairex/sales')).sales.filter((s: any) => s.fileId === honest.fileId),
      [],
      'C sold nothing'
    )
    await holds()
  }
)

test(
  '4b a banned peer cannot buy either: a provider that has not bought ' +
    'anything since the ban still refuses to sell to it',
  { timeout: 60_000 },
  async () => {
    assert.deepEqual(await judgeBans(), [C.peerId], 'runs after test 4')
    const f = await share(P, 'for-the-banned.bin', { size: 2 * 1024 * 1024 + 99 })
    const before = { P: await bal(P.peerId) }
    try {
      await rejectsApi(buy(C, P, f.fileId, outPath('banned-buys.bin')), 'FRAUD', /banned/)
      assert.equal(await saleOf(P, C.peerId, f.fileId), undefined)
    } finally {
      // whatever happened, P's queue is emptied so later tests start clean
      await P.api('POST', '/v1/fairex/deposit')
    }
    assert.equal(await bal(P.peerId), before.P)
    await holds()
  }
)

test(
  "5 a lying downloader shows the judge REQ' (another file): invalidComplain, P keeps its money and is not banned",
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'lie.bin')
    const before = {
      P: await bal(P.peerId),
      L: await bal(L.peerId),
      D: await bal(D.peerId),
      verdicts: (await judge.api('GET', '/v1/judge/verdicts')).verdicts.length
    }
    // L buys from the provider daemon over the sale protocol and keeps the evidence
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
    const honestComp = complaint(p.state)
    // REQ': L's signature over the same sale for another file
    const reqPrime = signRequest(L.key.signer, { ...p.state.req.body, fileId: toHex(randomBytes(32)) })
    const judgeL = client(L, judge, FAIREX_PROTOCOL.judge)
    const v = await judgeL.call<any>('complain', { comp: { ...honestComp, request: toB64(reqPrime.bytes) } })
    assert.deepEqual([v.ruling, v.reason, v.ban], ['invalidComplain', 'otherRequest', undefined])
    // the first verdict on a cheque is final: the same cheque with the true REQ gets it again
    const again = await judgeL.call<any>('complain', { comp: honestComp })
    assert.deepEqual([again.hash, again.ruling, again.reason], [v.hash, 'invalidComplain', 'otherRequest'])
    // (and L had the whole file all along: P's key opens the key piece)
    const k = onKey(p.state, p.key)
    assert.ok(k.ok)
    assert.equal(sha256Hex(assemble(p, k.keyPiece)), f.sha)

    // a node that complains about a good key: invalidComplain, and the verdict carries K
    const rec = await buy(D, P, f.fileId, outPath('lie.bin'))
    assert.equal(rec.status, 'done')
    const vd = await D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) })
    assert.deepEqual([vd.ruling, vd.reason, vd.ban], ['invalidComplain', 'keyOpensPiece', undefined])
    assert.match(vd.key, /^[0-9a-f]{64}$/)

    // neither complaint touched P: both cheques are paid in one batch, nobody is banned
    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader]).sort(),
      [
        ['paid', D.peerId],
        ['paid', L.peerId]
      ].sort()
    )
    assert.deepEqual([dep.paid, dep.fee], [2 * PRICE, FEE])
    assert.equal(await bal(P.peerId), before.P + 2 * PRICE - FEE)
    assert.equal(await bal(L.peerId), before.L - PRICE)
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.ok(!(await judgeBans()).includes(P.peerId))
    const verdicts = (await judge.api('GET', '/v1/judge/verdicts')).verdicts
    assert.equal(verdicts.length, before.verdicts + 2)
    assert.ok(verdicts.every((x: any) => x.provider !== P.peerId || x.ruling === 'invalidComplain'))
    await holds()
  }
)

test(
  '6 a shared file changed on disk: the provider refuses to send the ' +
    'changed piece; D signs nothing, pays nothing, the purchase fails',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'changed.bin')
    // 64 bytes inside piece 5 change after sharing; the size stays the same
    const fd = openSync(f.path, 'r+')
    writeSync(fd, randomBytes(64), 0, 64, 5 * PIECE + 1000)
    closeSync(fd)
    // cheques P is owed from earlier sales (some reach it through the TTP once disputes are retried) are settled first
    await P.api('POST', '/v1/fairex/deposit')
    const before = {
      P: await bal(P.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      dCerts: (await certsOf(D.peerId)).length,
      cheques: (await broker.api('GET', '/v1/fairex/cheques')).cheques.length
    }
    const out = outPath('changed.bin')
    await assert.rejects(buy(D, P, f.fileId, out), (err: unknown) => err instanceof ApiError)
    const rec = await purchaseOf(D, f.fileId)
    assert.equal(rec.status, 'failed', JSON.stringify(rec))
    assert.equal(rec.via, undefined)
    assert.equal(existsSync(out), false)
    // the refusal is P's own check (pieceToSend), before the piece left
    assert.ok(logCount(P, 'sale ended early', 'piece does not match the file id') >= 1, P.logTail())
    assert.equal((await saleOf(P, D.peerId, f.fileId)).status, 'sending', 'P made no cheque')
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
    // P reserved the price before its first piece; no cheque followed: the sale stays a reservation
    const cheques = (await broker.api('GET', '/v1/fairex/cheques')).cheques
    assert.equal(cheques.length, before.cheques + 1, 'only the reservation reached the AC')
    const sale = await chequeOf(P.peerId, D.peerId, snOf(rec.serial))
    assert.deepEqual([sale.status, sale.price, sale.hash, sale.deposited], ['reserved', PRICE, undefined, undefined])
    assert.equal(await bal(P.peerId), before.P)
    // what D observes: the certificate it got for this purchase still escrows the price (released only at its expiry,
    // 30 days)
    const certs = await certsOf(D.peerId)
    assert.equal(certs.length, before.dCerts + 1)
    const cert = certs.sort((a, b) => b.issuedAt - a.issuedAt)[0]
    assert.equal(sale.certificate, cert.hash)
    assert.deepEqual(
      [cert.max, cert.escrow, cert.reserved, cert.held, cert.paid, cert.released],
      [PRICE, PRICE, PRICE, 0, 0, undefined]
    )
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv, 'balance + escrow unchanged: D lost nothing')
    const bans = await judgeBans()
    assert.ok(!bans.includes(P.peerId) && !bans.includes(D.peerId), 'neither P nor D is banned')
    await holds()
  }
)

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
      const b2 = new Daemon('broker', join(swarm.dir, 'broker2'), [
        '--cert-ttl-days',
        String(ttl / DAY),
        '--deposit-grace-days',
        String(ttl / DAY),
        '--deposit-fee',
        String(FEE),
        '--proceeds-hold-s',
        '0'
      ])
      swarm.others.push(b2)
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
      `deposit during the kill: ${'ok' in outcome ? `answered ${JSON.stringify(outcome.ok.results.map((r: any) => r.status))}` : `failed: ${String((outcome.err as Error).message).slice(0, 120)}`}`
    )
    await broker.start()
    const retry = await attempt(20, 500, async () => await P.api('POST', '/v1/fairex/deposit'))
    t.diagnostic(
      `deposit after the restart: ${JSON.stringify(retry.results.map((r: any) => (r.status === 'refused' ? r.code : r.status)))}`
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
      ttp.api('GET', '/v1/ttp/disputes').then((r: any) => r.disputes.filter((d: any) => d.id === r1.dispute))
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
    assert.equal((await ttp.api('GET', '/v1/status')).pending, 0)
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(L.peerId), before.L - PRICE)
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
    const pending = (await judge.api('GET', '/v1/judge/verdicts')).verdicts.find(
      (x: any) => x.chequeSn === snOf(rec.serial)
    )
    assert.equal(pending.void?.status, 'pending')
    await broker.start()
    await waitFor(
      "the void after the broker's restart",
      async () =>
        (await judge.api('GET', '/v1/judge/verdicts')).verdicts.find((x: any) => x.chequeSn === snOf(rec.serial))?.void
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
  const proxy = await CutProxy.start(Number(E.addr.split('/')[4]), size)
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

test(
  '9a one capital certificate shown to two providers: the second refuses ' +
    'before any piece (its reservation finds the money promised); the ' +
    'first is paid in full',
  { timeout: 60_000 },
  async () => {
    const fp = await share(P, 'twice-p.bin', { size: 1024 * 1024 + 11 })
    const fe = await share(E, 'twice-e.bin', { size: 1024 * 1024 + 13 })
    // E's queue is emptied first (the TTP still holds E's copy of the cheque it resolved in test 8d)
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
    const refused = await saleOf(E, L.peerId, fe.fileId)
    assert.deepEqual(
      [refused?.status, /INSUFFICIENT_FUNDS|promised/.test(String(refused?.error))],
      ['refused', true],
      'E keeps the serial as refused (so it is never sold on)'
    )
    assert.equal((await E.api('GET', '/v1/fairex/sales')).sales.length, before.eSales + 1)
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

test(
  "9b a downloader and its sybil provider reuse the serial of an honest purchase from P: the sybil is banned and its sale voided, P's sale is untouched and paid",
  { timeout: 60_000 },
  async () => {
    const S = await RawPeer.start()
    extraPeers.push(S)
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
  "9c the complaint window (a market whose AC holds proceeds 6 s): a cheater's deposit is held and the ban refunds D from escrow; an honest deposit is paid after the window",
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
        (await judgeH.api('GET', '/v1/judge/bans')).bans.map((b: any) => b.peer),
        [X.peerId]
      )
      await waitFor(
        'the judge to record the void',
        async () =>
          (await judgeH.api('GET', '/v1/judge/verdicts')).verdicts.find((x: any) => x.chequeSn === sn)?.void?.status ===
          'voided',
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
