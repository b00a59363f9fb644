// A node that sees fewer than k Karma peers (a partition, a start) has no
// bank-set to act on: bank() is UNREACHABLE, marked as no vote, instead of a
// short set that members would refuse as BAD_REQUEST (final to a payer, which
// would free a nonce the members it cannot reach may have applied). A Karma
// peer that went out of sight is remembered as away: it still counts in the old
// bank that decides whether a join may mint.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { ErrorCode, P2payError, createP2payNode } from '@p2pay/core'
import { refusalVotes } from '../src/core/account.ts'
import { DhtView } from '../src/net/dht-view.ts'
import { KARMA_PROTOCOL } from '../src/net/protocols.ts'

describe('a bank-set out of sight', () => {
  const nodes: Libp2p[] = []
  const life = new AbortController()

  before(async () => {
    for (let i = 0; i < 4; i++) {
      const node = await createP2payNode({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0']
      })
      await node.handle(KARMA_PROTOCOL, async () => {})
      nodes.push(node)
    }
    for (const n of nodes.slice(1)) await nodes[0].dial(n.getMultiaddrs()[0])
  })
  after(async () => {
    life.abort()
    await Promise.all(nodes.map(async n => await n.stop()))
  })

  it('four Karma peers in all: bank-sets of k = 3 are computed, of k = 5 UNREACHABLE with sync (no vote)', async () => {
    const account = nodes[3].peerId.toString()
    const small = new DhtView(nodes[0], 3, 10_000, life.signal)
    const set = await small.bank(account, true)
    assert.equal(set.length, 3)
    assert.ok(!set.includes(account))
    const view = new DhtView(nodes[0], 5, 10_000, life.signal)
    const err = await view.bank(account).catch((e: unknown) => e)
    assert.ok(err instanceof P2payError, String(err))
    assert.equal(err.code, ErrorCode.UNREACHABLE)
    assert.equal(err.details?.sync, true)
    // a payer does not count it among the refusals that could end its request
    assert.deepEqual(refusalVotes([{ status: 'rejected', reason: err }]), [])
  })

  it('a Karma peer that disconnects is away (counted in the old bank of a join) until it connects again', async () => {
    const view = new DhtView(nodes[0], 3, 10_000, life.signal)
    // the view learns who speaks Karma by computing a bank-set
    await view.bank(nodes[3].peerId.toString(), true)
    const peer = nodes[1]
    const id = peer.peerId.toString()
    assert.deepEqual(view.away(), [])
    await nodes[0].hangUp(peer.peerId)
    for (let i = 0; i < 100 && !view.away().includes(id); i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(view.away(), [id])
    await nodes[0].dial(peer.getMultiaddrs()[0])
    assert.deepEqual(view.away(), [])
  })
})
