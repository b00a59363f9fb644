// Bank-sets: kad ids exactly as kad-dht computes them, XOR order, and a set that
// every node computes alike (dedupe, order, the account excluded, query + self).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, toHex } from '@p2pay/core'
// kad-dht exports only its entry point; its utils are read by path so the ids are checked against the real thing
import { convertBuffer, convertPeerId } from '../../../node_modules/@libp2p/kad-dht/dist/src/utils.js'
import {
  bankKey,
  bankKeyBytes,
  bankSet,
  bankSetFromQuery,
  kadIdOfKey,
  kadIdOfPeer,
  xorCompare,
  xorDistance,
  MAX_K
} from '../src/core/bankset.ts'
import { idents, rng, shuffle, throwsCode } from './fixtures.ts'

const ids = async (n: number): Promise<string[]> => (await idents(n)).map(p => p.id)
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

describe('kad ids', () => {
  it("a peer's kad id is kad-dht's convertPeerId, a key's is convertBuffer", async () => {
    for (const id of await ids(5)) {
      assert.equal(toHex(kadIdOfPeer(id)), toHex(await convertPeerId(peerIdFromString(id))))
      assert.equal(toHex(bankKey(id)), toHex(await convertBuffer(bankKeyBytes(id))))
      assert.equal(toHex(bankKey(id)), toHex(kadIdOfKey(new TextEncoder().encode('karma|' + id))))
    }
  })

  it('xorCompare orders by XOR distance to the target', () => {
    const t = new Uint8Array(32)
    const a = new Uint8Array(32)
    a[31] = 1
    const b = new Uint8Array(32)
    b[0] = 1
    assert.ok(xorCompare(t, a, b) < 0)
    assert.ok(xorCompare(t, b, a) > 0)
    assert.equal(xorCompare(t, a, a), 0)
    const t2 = new Uint8Array(32)
    t2[0] = 1 // now b is the target itself
    assert.ok(xorCompare(t2, b, a) < 0)
    assert.deepEqual(
      [...xorDistance(a, b)].filter(x => x !== 0),
      [1, 1]
    )
  })
})

describe('bankSet', () => {
  it('is the k candidates closest to bankKey(account), closest first', async () => {
    const [account, ...cands] = await ids(20)
    const set = bankSet(account, cands, 5)
    assert.equal(set.length, 5)
    const key = bankKey(account)
    const dist = (id: string): Uint8Array => xorDistance(key, kadIdOfPeer(id))
    const byDistance = [...cands].sort((x, y) => cmpBytes(dist(x), dist(y)))
    assert.deepEqual(set, byDistance.slice(0, 5))
  })

  it('two callers with the same candidates in different orders (and duplicates) agree', async () => {
    const [account, ...cands] = await ids(25)
    const rand = rng(7)
    const ref = bankSet(account, cands, 5)
    for (let i = 0; i < 20; i++) {
      const mine = shuffle([...cands, ...cands.slice(0, i)], rand)
      assert.deepEqual(bankSet(account, mine, 5), ref)
    }
  })

  it('never contains the account, even when it is the closest candidate', async () => {
    const all = await ids(20)
    for (const account of all) {
      const set = bankSet(account, all, 5)
      assert.equal(set.length, 5)
      assert.ok(!set.includes(account))
    }
  })

  it('skips candidates that cannot sign votes; fewer candidates than k gives them all', async () => {
    const [account, a, b] = await ids(3)
    const cidSpelling = peerIdFromString(a).toCID().toString() // the same key, non-canonical spelling
    assert.deepEqual(new Set(bankSet(account, ['junk', '', cidSpelling, a, b, a], 5)), new Set([a, b]))
    assert.deepEqual(bankSet(account, [], 5), [])
  })

  it('refuses a malformed account or k', async () => {
    const [account, a] = await ids(2)
    throwsCode(() => bankSet('not-a-peer', [a], 5), ErrorCode.BAD_REQUEST)
    throwsCode(() => bankSet(peerIdFromString(account).toCID().toString(), [a], 5), ErrorCode.BAD_REQUEST)
    for (const k of [0, -1, 1.5, MAX_K + 1]) throwsCode(() => bankSet(account, [a], k), ErrorCode.BAD_REQUEST)
  })

  it('query + self: nodes agree on the set even though a query never returns the asking node', async () => {
    const all = await ids(20)
    const k = 5
    // what getClosestPeers run on X returns: the k closest X knows, never X itself
    const query = (account: string, x: string): string[] =>
      bankSet(
        account,
        all.filter(p => p !== x),
        k
      )
    let disagreedWithoutSelf = 0
    for (const account of all.slice(0, 8)) {
      const truth = bankSet(account, all, k)
      const views = all.filter(x => x !== account).map(x => bankSetFromQuery(account, query(account, x), x, k))
      for (const v of views) assert.deepEqual(v, truth)
      // the naive way (query result only) splits the bank: its own members see another set
      for (const x of truth) if (query(account, x).join() !== truth.join()) disagreedWithoutSelf++
    }
    assert.equal(disagreedWithoutSelf, 8 * k, 'every member of a bank would compute a different set without itself')
  })
})
