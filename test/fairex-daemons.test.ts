// The file market's third parties as real processes: the broker (with its AC),
// the TTP and the judge, started through the CLI. The provider P and the
// downloader D are libp2p peers in this process that run sale.ts themselves,
// so the test can make P cheat: it seals a garbage K' into Z (the paper's
// attack) and cashes the cheque at once (this broker has no complaint window:
// --proceeds-hold-s 0). The TTP hands D that K' (it cannot tell), the judge
// bans P, and the AC claws the price back; a judge killed between verdict and
// void still voids, once, after its restart.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
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
  complaint,
  disputeBundle,
  merkleRoot,
  onAccept,
  onCheque,
  onChequeAccepted,
  onKey,
  onPiece,
  openBan,
  openVerdict,
  pieceHash,
  pieceToSend,
  signCertRequest,
  signDepositRequest,
  signManifest,
  startPurchase,
  type DepositItem,
  type DepositResult,
  type IssueResult,
  type PendingCheque,
  type Purchase,
  type ReserveResult
} from '@p2pay/fairex'
import { cheatingCheque } from '@p2pay/fairex/cheats'
import { Swarm, waitFor, audit, CLI, type Daemon } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'

const verifier = new Verifier(nodeEd25519())
const PIECE = 16 * 1024
const PRICE = 25
const CERT_MAX = 100
const TOPUP = 1000
const FEE = 1
const run = promisify(execFile)
const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

const swarm = new Swarm('fairex-daemons')
let broker: Daemon, ttp: Daemon, judge: Daemon
let P: RawPeer, D: RawPeer
const clients: RpcClient[] = []

function client(peer: RawPeer, d: Daemon, protocol: string): RpcClient {
  const c = new RpcClient(peer.node, multiaddr(d.addr), protocol, { defaultTimeoutMs: 15_000 })
  clients.push(c)
  return c
}

const balance = async (peer: RawPeer): Promise<number> =>
  (await broker.api('GET', `/v1/account?id=${peer.peerId}`)).balance
const chequeAt = async (hash: string): Promise<any> =>
  (await broker.api('GET', '/v1/fairex/cheques')).cheques.find((c: any) => c.hash === hash)
const brokerLogCount = (msg: string): number =>
  readFileSync(broker.dataDir + '.log', 'utf8')
    .split('\n')
    .filter(l => l.includes(`"msg":"${msg}"`)).length

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof P2payError && err.code === code)
}

before(async () => {
  // the judge's identity is made first, so the broker can be told who the judge is before either runs
  const judgeId = JSON.parse(
    (await run(process.execPath, [CLI, 'identity', '--data-dir', join(swarm.dir, 'judge'), '--json'])).stdout
  ).peerId
  // no complaint window: a deposited cheque is paid at once, so the judge's void must claw it back from P
  broker = await swarm.startBroker(['--judge', judgeId, '--deposit-fee', String(FEE), '--proceeds-hold-s', '0'])
  ttp = await swarm.add('ttp', 'ttp')
  // nothing listens on port 1: the judge rules, but cannot reach the AC until it is restarted
  judge = await swarm.add('judge', 'judge', [
    '--broker',
    `/ip4/127.0.0.1/tcp/1/p2p/${broker.peerId}`,
    '--retry-interval-ms',
    '200'
  ])
  assert.equal(judge.peerId, judgeId)
  ;[P, D] = await Promise.all([RawPeer.start(), RawPeer.start()])
  for (const peer of [P, D]) await broker.api('POST', '/v1/topup', { account: peer.peerId, amount: TOPUP })
})

after(async () => {
  await Promise.allSettled(clients.map(async c => await c.close()))
  await Promise.allSettled([P, D].filter(Boolean).map(async p => await p.stop()))
  await swarm.stopAll()
})

/** A fixed-form sale where P seals K' in Z and sends K' in 2.4; D signed 2.3 and holds no working key. */
async function cheatedSale(): Promise<{ state: Purchase; deposit: DepositItem; garbageKey: Uint8Array }> {
  const ac = client(D, broker, FAIREX_PROTOCOL.ac)
  const certReq = signCertRequest(D.key.signer, {
    ac: broker.peerId,
    peer: D.peerId,
    max: CERT_MAX,
    nonce: randomId(8)
  })
  const cert = await ac.call<IssueResult>('certificate', { request: toB64(certReq.bytes) })

  const data = new Uint8Array(randomBytes(3 * PIECE + 100))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < data.byteLength; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  const fileId = toHex(merkleRoot(hashes))
  const manifest = signManifest(P.key.signer, {
    fileId,
    name: 'film.bin',
    size: data.byteLength,
    pieceSize: PIECE,
    price: PRICE,
    createdAt: Date.now()
  })

  const { state, message1_1 } = startPurchase({
    signer: D.key.signer,
    verifier,
    provider: P.peerId,
    fileId,
    price: PRICE,
    ttp: ttp.peerId,
    judge: judge.peerId,
    certificate: cert.certificate,
    form: 'fixed',
    now: Date.now()
  })
  const accepted = acceptRequest({
    signer: P.key.signer,
    verifier,
    manifest,
    pieceHashes: hashes,
    message1_1,
    ac: broker.peerId,
    judge: judge.peerId,
    ttps: [ttp.peerId],
    form: 'fixed',
    now: Date.now(),
    maxSkewMs: 30_000
  })
  assert.ok('sale' in accepted, JSON.stringify(accepted))
  // before any piece, P reserves the price under D's certificate at the AC
  const reserved = await client(P, broker, FAIREX_PROTOCOL.ac).call<ReserveResult>('reserve', {
    request: message1_1.request,
    certificate: message1_1.certificate
  })
  assert.deepEqual(
    [reserved.provider, reserved.downloader, reserved.price, reserved.certificate],
    [P.peerId, D.peerId, PRICE, cert.hash]
  )
  const { sale, message1_2 } = accepted
  onAccept(state, message1_2)
  pieces.forEach((plain, i) => onPiece(state, i, pieceToSend(sale, i, plain)))
  const garbageKey = new Uint8Array(randomBytes(32))
  const message2_3 = onCheque(state, cheatingCheque(sale, { now: Date.now(), garbageKey }))
  const { message2_4, deposit } = onChequeAccepted(sale, message2_3)
  assert.equal(onKey(state, message2_4.key).ok, false, "P's K' does not open the key piece")
  return { state, deposit, garbageKey }
}

async function depositAt(items: DepositItem[]): Promise<DepositResult> {
  const req = signDepositRequest(P.key.signer, {
    ac: broker.peerId,
    provider: P.peerId,
    nonce: randomId(8),
    cheques: items.map(i => sha256Hex(fromB64(i.cheque)))
  })
  return await client(P, broker, FAIREX_PROTOCOL.ac).call<DepositResult>('deposit', {
    request: toB64(req.bytes),
    items
  })
}

test(
  "K' from the TTP, providerBan from the judge, the void survives kill -9 of the judge, P picks " +
    'its cheque up from the TTP',
  { timeout: 180_000 },
  async () => {
    const { state, deposit, garbageKey } = await cheatedSale()
    const cheque = sha256Hex(fromB64(deposit.cheque))

    // the cheater cashes in at once
    const paid = await depositAt([deposit])
    assert.deepEqual(
      paid.results.map(r => r.status),
      ['paid']
    )
    assert.equal(await balance(P), TOPUP + PRICE - FEE)
    assert.equal(await balance(D), TOPUP - CERT_MAX)
    assert.equal((await audit(broker)).holds, true)

    // 3.1/3.2 over libp2p: the TTP gives D what P sealed, K', which opens nothing
    const ttpD = client(D, ttp, FAIREX_PROTOCOL.ttp)
    const resolved = await ttpD.call<{ key: string; dispute: string }>('resolve', { bundle: disputeBundle(state) })
    assert.equal(resolved.key, toHex(garbageKey))
    assert.equal(resolved.dispute, cheque)
    assert.equal(onKey(state, resolved.key).ok, false, "the TTP cannot tell K' from K")

    // COMP over libp2p: only D may complain; the judge checks K against the key piece and convicts P
    await rejectsCode(
      client(P, judge, FAIREX_PROTOCOL.judge).call('complain', { comp: complaint(state) }),
      ErrorCode.WRONG_SIGNER
    )
    const ruled = await client(D, judge, FAIREX_PROTOCOL.judge).call<{
      verdict: string
      ban?: string
      ruling: string
      reason: string
    }>('complain', { comp: complaint(state) })
    assert.equal(ruled.ruling, 'providerBan')
    assert.equal(ruled.reason, 'wrongKey')
    const verdict = openVerdict(verifier, ruled.verdict, judge.peerId)
    assert.deepEqual(
      [verdict.body.provider, verdict.body.downloader, verdict.body.cheque],
      [P.peerId, D.peerId, cheque]
    )
    assert.ok(ruled.ban !== undefined)
    const ban = openBan(verifier, ruled.ban, judge.peerId, Date.now())
    assert.equal(ban.body.peer, P.peerId, 'the provider is the one banned')

    // the AC is unreachable for this judge: the void stays queued, the cheque stays paid
    await sleep(1000)
    assert.equal((await chequeAt(cheque)).status, 'paid')
    const queued = (await judge.api('GET', '/v1/fairex/verdicts')).verdicts
    assert.deepEqual(
      queued.map((v: any) => [v.cheque, v.ruling, v.void?.status]),
      [[cheque, 'providerBan', 'pending']]
    )
    assert.equal(brokerLogCount('cheque voided by verdict'), 0)

    // kill -9 between verdict and void; back up with the broker's real address
    await judge.kill9()
    judge = await swarm.add('judge', 'judge', ['--broker', broker.addr, '--retry-interval-ms', '200'])
    const voided = await waitFor('the void at the broker', async () => {
      const c = await chequeAt(cheque)
      return c?.status === 'void' ? c : undefined
    })
    assert.deepEqual(
      [voided.void.from, voided.void.refunded, voided.void.shortfall, voided.void.verdict],
      ['provider', PRICE, 0, verdict.hash]
    )
    await waitFor(
      'the judge to record the void',
      async () => (await judge.api('GET', '/v1/fairex/verdicts')).verdicts[0]?.void?.status === 'voided'
    )

    // exactly once: a few more retry intervals change nothing, and the AC was asked once
    await sleep(1000)
    assert.equal(brokerLogCount('cheque voided by verdict'), 1)
    const a = await broker.api('GET', '/v1/audit')
    assert.equal(a.holds, true)
    assert.deepEqual([a.ac.voids, a.ac.meta.clawedBack, a.ac.meta.shortfall], [1, PRICE, 0])

    // the honest party lost nothing: D's balance plus what its certificate still holds is its topup
    const cert = (await broker.api('GET', '/v1/fairex/certificates')).certificates.find((c: any) => c.peer === D.peerId)
    assert.equal((await balance(D)) + cert.escrow, TOPUP)
    // the cheater paid the fee and got nothing for K'
    assert.equal(await balance(P), TOPUP - FEE)

    // the ban survives the restart, for any peer to fetch and check
    const bans = await client(P, judge, FAIREX_PROTOCOL.judge).call<{ bans: string[] }>('bans', {})
    assert.deepEqual(
      bans.bans.map(b => openBan(verifier, b, judge.peerId, Date.now()).body.peer),
      [P.peerId]
    )

    // 3.3: P picks its countersigned cheque up from the TTP; D sees no queue of P's
    const ttpP = client(P, ttp, FAIREX_PROTOCOL.ttp)
    assert.deepEqual((await ttpD.call<{ items: PendingCheque[] }>('pending', {})).items, [])
    const { items } = await ttpP.call<{ items: PendingCheque[] }>('pending', {})
    assert.deepEqual(
      items.map(i => [i.id, i.cheque, i.accept, i.downloader]),
      [[cheque, deposit.cheque, deposit.accept, D.peerId]]
    )
    assert.deepEqual(await ttpP.call('delivered', { ids: [cheque] }), { delivered: [cheque] })
    assert.deepEqual((await ttpP.call<{ items: PendingCheque[] }>('pending', {})).items, [])
    const disputes = (await ttp.api('GET', '/v1/fairex/disputes')).disputes
    assert.equal(disputes.length, 1)
    assert.ok(disputes[0].delivered > 0)

    // and cannot cash it again: the serial is void
    const again = await depositAt([
      { cheque: items[0].cheque, accept: items[0].accept, certificate: items[0].certificate! }
    ])
    assert.deepEqual(
      again.results.map(r => (r.status === 'refused' ? r.code : r.status)),
      [ErrorCode.FRAUD]
    )
    assert.equal(await balance(P), TOPUP - FEE)
    assert.equal((await audit(broker)).holds, true)

    // the same records through the CLI
    assert.deepEqual(
      (await judge.cli('judge', 'bans')).bans.map((b: any) => b.peer),
      [P.peerId]
    )
    assert.deepEqual(
      (await judge.cli('judge', 'verdicts')).verdicts.map((v: any) => [v.ruling, v.void.status]),
      [['providerBan', 'voided']]
    )
    assert.deepEqual(
      (await ttp.cli('ttp', 'disputes')).disputes.map((d: any) => d.id),
      [cheque]
    )
    assert.equal((await broker.cli('broker', 'audit')).holds, true)
    for (const cmd of [
      ['ttp', 'start'],
      ['judge', 'start'],
      ['judge', 'verdicts'],
      ['fairex', 'share'],
      ['fairex', 'buy'],
      ['fairex', 'catalog'],
      ['fairex', 'complain']
    ]) {
      const out = (await run(process.execPath, [CLI, ...cmd, '--help'])).stdout
      assert.match(out, /Usage: p2pay /, cmd.join(' '))
      assert.match(out, /Examples:\n {2}p2pay /, cmd.join(' '))
    }
  }
)

test('the broker refuses voids on a verdict of anyone but its judge', { timeout: 60_000 }, async () => {
  const { state } = await cheatedSale()
  const forged = P.key.sign('p2pay/fairex/verdict/v1', {
    judge: P.peerId,
    cheque: sha256Hex(fromB64(complaint(state).cheque)),
    provider: P.peerId,
    downloader: D.peerId,
    chequeSn: state.req.body.chequeSn,
    ruling: 'providerBan',
    reason: 'wrongKey',
    at: Date.now()
  })
  await rejectsCode(
    client(D, broker, FAIREX_PROTOCOL.ac).call('void', { verdict: forged, cheque: complaint(state).cheque }),
    ErrorCode.WRONG_BROKER
  )
  assert.equal((await audit(broker)).holds, true)
})
