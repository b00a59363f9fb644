// WhoPay's group with processes: a broker started before its judge sets its group up on the judge's signed opener
// part; two nodes join (a repeat gets the same key) and the broker's registry maps each member id to the node's
// peer id; a peer that is not the broker cannot have the judge open anything, and nothing is opened without
// evidence; a double deposit is opened by the judge to the cheater's member id, which the registry names; the judge
// keeps its opener part and openings across a kill -9, the broker its group and registry across a restart.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { ErrorCode, P2payError, RpcClient, Verifier, createP2payNode, fromB64, nodeEd25519 } from '@p2pay/core'
import { GROUP_PROTOCOL, OPENER_PROTOCOL, TAG, fetchGroup, type OpeningBody, type WhopayKind } from '@p2pay/whopay'
import { waitFor, type Daemon } from './helpers/swarm.ts'
import { frauds, joinAll, openings, pay, startWhopay, type WhopaySwarm } from './helpers/whopay.ts'

let s: WhopaySwarm
let broker: Daemon, judge: Daemon, n1: Daemon, n2: Daemon, n3: Daemon
let outsider: Libp2p
const verifier = new Verifier<WhopayKind>(nodeEd25519())

const registry = async (): Promise<any> => await broker.api('GET', '/v1/whopay/registry')
const openerHash = async (): Promise<string> => (await judge.api('GET', '/v1/whopay/openings')).opener

before(async () => {
  s = await startWhopay('whopay-group', { nodes: 3, join: false, nodeArgs: ['--allow-cheats'] })
  ;({ broker, judge } = s)
  ;[n1, n2, n3] = s.nodes
  outsider = await createP2payNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dht: false })
})
after(async () => {
  await outsider?.stop()
  await s?.swarm.stopAll()
})

test('three nodes join, a repeat gets the same key, and the registry maps each member id to its peer', async () => {
  assert.deepEqual((await registry()).members, [])
  await joinAll([n1, n2, n3])
  await n1.api('POST', '/v1/whopay/join')
  const r = await registry()
  assert.equal(r.judge, judge.peerId)
  assert.equal(typeof r.group, 'string')
  assert.equal(r.members.length, 3, JSON.stringify(r))
  assert.deepEqual(new Set(r.members.map((m: any) => m.peer)), new Set([n1.peerId, n2.peerId, n3.peerId]))
  assert.equal(new Set(r.members.map((m: any) => m.member)).size, 3, 'three member keys')
  for (const d of [n1, n2, n3]) assert.equal((await d.api('GET', '/v1/status')).schemes.whopay.joined, true)
})

test("the group is on the judge's signed part; a peer that is not the broker cannot have the judge open", async () => {
  const toBroker = new RpcClient<WhopayKind>(outsider, multiaddr(broker.addr), GROUP_PROTOCOL)
  const { group, opener } = await fetchGroup(toBroker, verifier, broker.peerId, judge.peerId)
  await toBroker.close()
  assert.equal(group.hash, (await registry()).group)
  assert.equal(opener.hash, await openerHash())
  // the same group named by another judge is not trusted
  const again = new RpcClient<WhopayKind>(outsider, multiaddr(broker.addr), GROUP_PROTOCOL)
  await assert.rejects(fetchGroup(again, verifier, broker.peerId, broker.peerId), (err: unknown) => {
    return err instanceof P2payError && err.code === ErrorCode.WRONG_SIGNER
  })
  await again.close()
  const toJudge = new RpcClient<WhopayKind>(outsider, multiaddr(judge.addr), OPENER_PROTOCOL)
  const params = await toJudge.call<{ opener: string }>('params', {})
  assert.equal(params.opener, opener.b64)
  await assert.rejects(toJudge.call('open', { evidence: {} }), (err: unknown) => {
    return err instanceof P2payError && err.code === ErrorCode.UNAUTHORIZED
  })
  await toJudge.close()
  assert.deepEqual(await openings(judge), [], 'nothing opened without evidence')
})

test("a double deposit: the judge opens both signatures to the cheater's member, the registry names it", async () => {
  const [O, A, B] = [n1, n2, n3]
  await broker.api('POST', '/v1/topup', { account: O.peerId, amount: 100 })
  const coin = (await O.api('POST', '/v1/whopay/buy', { value: 3 })).coins[0].coin
  await pay(O, A, 3)
  await pay(A, B, 3)
  await assert.rejects(A.api('POST', '/v1/whopay/cheat/double-deposit', { coin }), (e: any) => e.code === 'FRAUD')
  const f = await waitFor('the fraud record', async () => (await frauds(broker)).find(x => x.coin === coin), 30_000)
  assert.equal(f.cheater, A.peerId)
  const [opened] = await openings(judge)
  const memberOfA = (await registry()).members.find((m: any) => m.peer === A.peerId).member
  assert.deepEqual(opened.members, [memberOfA, memberOfA])
  for (const b64 of opened.openings) {
    const env = verifier.open<OpeningBody>(fromB64(b64), TAG.opening, 'whopay-open')
    assert.equal(env.signer, judge.peerId)
    assert.equal(env.body.case, opened.case)
    assert.equal(env.body.member, memberOfA)
  }
})

test('the judge keeps its part and openings across kill -9, the broker its group and registry', async () => {
  const opener = await openerHash()
  const before = await registry()
  await judge.kill9()
  await judge.start()
  assert.equal(await openerHash(), opener)
  await broker.stop()
  await broker.start()
  assert.deepEqual(await registry(), before)
  // a node that joined before gets its kept key, and the broker registers nobody twice
  await n2.api('POST', '/v1/whopay/join')
  assert.equal((await registry()).members.length, 3)
  assert.equal((await openings(judge)).length, 1, 'the opening is kept')
})
