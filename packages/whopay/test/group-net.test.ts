// The group side over real libp2p and LevelDB, in one process: a broker whose judge is not up yet answers `info`
// UNREACHABLE and sets its group up once the judge answers; two nodes join (again: the same key), the registry
// maps their member ids to their peer ids; a node that knows another judge refuses the group; a double spend is
// opened by the judge for the broker only, named through the registry, and the same case again gets the same
// openings; keys and group survive a restart.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  Lifecycle,
  Metrics,
  RpcClient,
  Store,
  Verifier,
  createLogger,
  createP2payNode,
  nodeEd25519,
  randomId,
  signerFor,
  type Signer
} from '@p2pay/core'
import { rejectsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import type { WhopayKind } from '../src/kinds.ts'
import * as bbs from '../src/core/bbs04.ts'
import { signCoinCert } from '../src/core/coin.ts'
import { groupPool } from '../src/core/group-pool.ts'
import { coinSigner, holderSigned, newCoinKey, signHolderEnvelope, type CoinKey } from '../src/core/holder.ts'
import { TAG, type HolderSigned } from '../src/core/messages.ts'
import { GroupClient } from '../src/net/group-client.ts'
import { OPENER_PROTOCOL, GROUP_PROTOCOL } from '../src/net/group-protocols.ts'
import { GroupService } from '../src/net/group-service.ts'
import { OpenerService } from '../src/net/opener-service.ts'
import { openedCase } from '../src/net/ledger-fraud.ts'

const backend = nodeEd25519()
const dir = mkdtempSync(join(tmpdir(), 'whopay-group-'))
const pool = groupPool(1)
const quiet = (name: string) => createLogger(name, 'warn')

interface Peer {
  key: PrivateKey
  node: Libp2p
  store: Store
  signer: Signer<WhopayKind>
  verifier: Verifier<WhopayKind>
  metrics: Metrics
  id: string
  addr: string
}

async function peer(name: string, key?: PrivateKey): Promise<Peer> {
  const k = key ?? (await generateKeyPair('Ed25519'))
  const node = await createP2payNode({ privateKey: k, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false })
  const store = new Store(join(dir, name))
  await store.open()
  const metrics = new Metrics()
  const signer = signerFor(k, backend, metrics) as Signer<WhopayKind>
  const id = node.peerId.toString()
  return {
    key: k,
    node,
    store,
    signer,
    verifier: new Verifier(backend, metrics),
    metrics,
    id,
    addr: `${node.getMultiaddrs()[0]}`
  }
}

const components = (p: Peer, name: string) => ({
  network: p.node,
  store: p.store,
  signer: p.signer,
  verifier: p.verifier,
  metrics: Object.assign(p.metrics, {}) as never,
  logger: quiet(name)
})

async function stopPeer(p: Peer): Promise<void> {
  await p.node.stop()
  await p.store.close()
}

let judge: Peer, broker: Peer, n1: Peer, n2: Peer
let opener: OpenerService
let group: GroupService
let brokerLife: Lifecycle

before(async () => {
  ;[judge, broker, n1, n2] = await Promise.all(['judge', 'broker', 'n1', 'n2'].map(async n => await peer(n)))
})
after(async () => {
  await group?.stop()
  await brokerLife?.stop()
  await opener?.stop()
  await Promise.all([judge, broker, n1, n2].filter(p => p != null).map(stopPeer))
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
})

const judgeOf = (p: Peer) => ({ id: p.id, addr: p.addr })

function startOpener(): OpenerService {
  const o = new OpenerService({ ...components(judge, 'judge'), broker: judgeOf(broker) } as never, { poolSize: 1 })
  return o
}

function client(p: Peer, judgeParty = judgeOf(judge)): GroupClient {
  return new GroupClient(
    { network: p.node, store: p.store, verifier: p.verifier, logger: quiet('node') },
    { broker: judgeOf(broker), judge: judgeParty }
  )
}

/** A holder request by `key` at seq 0 of its coin, group-signed in the pool by `memberKey`. */
async function request(key: CoinKey, gpk: Uint8Array, memberKey: Uint8Array, dest: string): Promise<HolderSigned> {
  const body = { coin: key.id, gen: 0, seq: 0, to: dest, at: Date.now() }
  const { env, digest } = signHolderEnvelope(coinSigner(key, backend), TAG.transfer, body, 'whopay-transfer')
  return holderSigned(env.bytes, await pool.sign(gpk, memberKey, digest))
}

describe('the group over libp2p', () => {
  it('a broker whose judge is not up answers UNREACHABLE, and sets the group up once the judge answers', async () => {
    brokerLife = new Lifecycle(quiet('broker'))
    group = new GroupService(components(broker, 'broker'), { judge: judgeOf(judge), life: brokerLife })
    await group.start()
    await n1.node.dial(broker.node.getMultiaddrs()[0])
    const probe = new RpcClient(n1.node, broker.node.peerId, GROUP_PROTOCOL)
    await rejectsCode(probe.call('info', {}), ErrorCode.UNREACHABLE)
    await probe.close()
    assert.equal(group.group(), undefined)
    opener = startOpener()
    await opener.start()
    const record = await group.whenReady(AbortSignal.timeout(30_000))
    assert.equal(record.judge, judge.id)
    assert.equal(record.broker, broker.id)
  })

  it('two nodes join; a repeat gets the same key; the registry maps each member id to its peer', async () => {
    const c1 = client(n1)
    const c2 = client(n2)
    await c1.start()
    await c2.start()
    const [m1, m2] = await Promise.all([c1.join(), c2.join()])
    const again = await client(n1)
      .start()
      .then(async () => await c1.join())
    assert.deepEqual(again, m1)
    assert.equal(Buffer.compare(m1.gpk, group.group()!.gpk), 0)
    const a1 = Buffer.from(bbs.memberId(bbs.decodeMemberKey(m1.memberKey))).toString('base64')
    const a2 = Buffer.from(bbs.memberId(bbs.decodeMemberKey(m2.memberKey))).toString('base64')
    assert.notEqual(a1, a2)
    const reg = group.registry()
    assert.equal(reg.length, 2)
    assert.equal(group.peerOf(a1), n1.id)
    assert.equal(group.peerOf(a2), n2.id)
    const route = (await group.routes()['GET /registry']({}, new URLSearchParams())) as any
    assert.deepEqual(new Set(route.members.map((m: any) => m.peer)), new Set([n1.id, n2.id]))
    await c1.stop()
    await c2.stop()
  })

  it('a node that knows another judge refuses the group', async () => {
    const other = await peer('stranger')
    try {
      const c = client(other, judgeOf(broker))
      await c.start()
      await rejectsCode(c.join(), ErrorCode.WRONG_SIGNER)
      assert.equal(c.membership(), undefined)
      await c.stop()
    } finally {
      await stopPeer(other)
    }
  })

  it('the judge opens a double spend for the broker, the registry names the cheater; nobody else may ask', async () => {
    const c1 = client(n1)
    await c1.start()
    const { gpk, memberKey } = (await c1.join())!
    const key = newCoinKey()
    const cert = signCoinCert(
      broker.signer,
      { coin: key.id, owner: n2.id, value: 5, expiry: Date.now() + 3600_000, serial: randomId(8), gen: 0 },
      'whopay-purchase'
    )
    const a = await request(key, gpk, memberKey, newCoinKey().id)
    const b = await request(key, gpk, memberKey, newCoinKey().id)
    const evidence = { cert: cert.b64, a, b }
    const r = await group.open(evidence)
    assert.deepEqual(r.cheaters, [n1.id])
    assert.equal(r.openings.length, 2)
    const again = await group.open({ cert: cert.b64, a: b, b: a })
    assert.deepEqual(again.openings, [...r.openings].reverse(), 'the same openings, in the order shown')
    const kept = (await opener.routes()['GET /openings']({}, new URLSearchParams())) as any
    assert.equal(kept.openings.length, 1)
    assert.equal(kept.openings[0].case, r.case)
    // the node itself asks the judge: refused, whatever it shows
    await n1.node.dial(judge.node.getMultiaddrs()[0])
    const direct = new RpcClient(n1.node, judge.node.peerId, OPENER_PROTOCOL)
    await rejectsCode(direct.call('open', { evidence }), ErrorCode.UNAUTHORIZED)
    assert.ok(typeof (await direct.call<{ opener: string }>('params', {})).opener === 'string')
    await direct.close()
    // the broker with no evidence, or evidence that does not conflict: nothing opened, nothing kept
    const asBroker = new RpcClient(broker.node, judge.node.peerId, OPENER_PROTOCOL)
    await rejectsCode(asBroker.call('open', {}), ErrorCode.BAD_REQUEST)
    await rejectsCode(asBroker.call('open', { evidence: { cert: cert.b64, a, b: a } }), WhopayErrorCode.NOT_CONFLICT)
    await asBroker.close()
    const after = (await opener.routes()['GET /openings']({}, new URLSearchParams())) as any
    assert.equal(after.openings.length, 1)
    await c1.stop()
  })

  it('after a restart the judge keeps its opener key and the broker its group and registry', async () => {
    const before = { opener: (opener.status() as any).opener, group: group.group()!.hash }
    await opener.stop()
    await group.stop()
    await brokerLife.stop()
    opener = startOpener()
    await opener.start()
    brokerLife = new Lifecycle(quiet('broker'))
    group = new GroupService(components(broker, 'broker'), { judge: judgeOf(judge), life: brokerLife })
    await group.start()
    assert.equal((opener.status() as any).opener, before.opener)
    assert.equal(group.group()?.hash, before.group, 'ready at once, from the store')
    assert.equal(group.registry().length, 2)
  })

  it('a coin key signed by two members: the openings name both peers, and both are convicted', async () => {
    const [c1, c2] = [client(n1), client(n2)]
    await c1.start()
    await c2.start()
    const [k1, k2] = [(await c1.join())!, (await c2.join())!]
    const key = newCoinKey()
    const cert = signCoinCert(
      broker.signer,
      { coin: key.id, owner: n2.id, value: 5, expiry: Date.now() + 3600_000, serial: randomId(8), gen: 0 },
      'whopay-purchase'
    )
    const a = await request(key, k1.gpk, k1.memberKey, newCoinKey().id)
    const b = await request(key, k2.gpk, k2.memberKey, newCoinKey().id)
    const opened = openedCase(await group.open({ cert: cert.b64, a, b }))
    assert.deepEqual(opened.cheaters, [n1.id, n2.id])
    assert.equal(new Set(opened.members).size, 2)
    assert.equal(opened.openings.length, 2)
    await c1.stop()
    await c2.stop()
  })
})
