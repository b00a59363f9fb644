// Addresses a node gives out, over real libp2p nodes in this process (TCP on
// loopback): a node behind NAT (--relay) reserves on its relay, announces only
// its relayed address, is reached through it on a connection that runs p2pay's
// RPC, and reserves again after its relay restarts; a node given --announce is
// known by that address through identify and through the DHT; a daemon that
// announces loopback only while listening beyond it is told so.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createP2payNode } from '../src/wire/libp2p-node.ts'
import { announcesOnlyLoopback } from '../src/wire/addresses.ts'
import { serveRpc, RpcClient } from '../src/wire/rpc.ts'

const PROTO = '/p2pay-test/relayed/1.0.0'
const started: Libp2p[] = []
const node = async (o: Partial<Parameters<typeof createP2payNode>[0]> = {}): Promise<Libp2p> => {
  const n = await createP2payNode({
    privateKey: o.privateKey ?? (await generateKeyPair('Ed25519')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...o
  })
  started.push(n)
  return n
}
const isCircuit = (a: { toString: () => string }): boolean => a.toString().includes('/p2p-circuit')
async function until<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

after(async () => {
  await Promise.allSettled(started.map(async n => await n.stop()))
})

describe('a node behind NAT, through its relay', () => {
  let relayKey: PrivateKey
  let relay: Libp2p
  let natted: Libp2p
  let circuit: string

  it('reserves on the relay given and announces only the relayed address', async () => {
    relayKey = await generateKeyPair('Ed25519')
    relay = await node({ privateKey: relayKey, relayServer: true, dht: false })
    natted = await node({ relays: [relay.getMultiaddrs()[0].toString()], dht: false })
    const addrs = await until('a reservation', () => {
      const a = natted.getMultiaddrs().map(String)
      return a.length > 0 ? a : undefined
    })
    circuit = `${relay.getMultiaddrs()[0].toString()}/p2p-circuit/p2p/${natted.peerId.toString()}`
    assert.deepEqual(addrs, [circuit], 'its own listen address is not given out')
  })

  it('is reached through the relay on a connection with no limits, which runs p2pay RPC', async () => {
    await serveRpc(natted, PROTO, { echo: (args: unknown) => ({ args }) })
    const dialer = await node({ dht: false })
    const conn = await dialer.dial(multiaddr(circuit))
    assert.ok(isCircuit(conn.remoteAddr), 'the connection is relayed')
    // a limited connection would run only protocols that opt in: our relays set no data or time limit
    assert.equal(conn.limits, undefined)
    const client = new RpcClient(dialer, multiaddr(circuit), PROTO)
    try {
      assert.deepEqual(await client.call('echo', { over: 'the relay' }), { args: { over: 'the relay' } })
    } finally {
      await client.close()
    }
  })

  it('reserves again when its relay comes back after a restart', async () => {
    const at = relay.getMultiaddrs()[0]
    const listen = at.decapsulate('/p2p').toString()
    await relay.stop()
    await until('the relayed address withdrawn', () => !natted.getMultiaddrs().some(isCircuit))
    relay = await node({ privateKey: relayKey, relayServer: true, dht: false, listen: [listen] })
    const addrs = await until('a new reservation', () => {
      const a = natted.getMultiaddrs().map(String)
      return a.length > 0 ? a : undefined
    })
    assert.deepEqual(addrs, [circuit])
  })
})

describe('a node behind NAT with --relay auto', () => {
  it('reserves on a relay it meets and announces the relayed address', async () => {
    const relay = await node({ relayServer: true, dht: false })
    const natted = await node({ relays: ['auto'], dht: false })
    assert.deepEqual(natted.getMultiaddrs(), [], 'nothing to give out before a reservation')
    await natted.dial(relay.getMultiaddrs()[0])
    const addrs = await until('a reservation', () => {
      const a = natted.getMultiaddrs().map(String)
      return a.length > 0 ? a : undefined
    })
    assert.deepEqual(addrs, [`${relay.getMultiaddrs()[0].toString()}/p2p-circuit/p2p/${natted.peerId.toString()}`])
  })
})

describe('a node given --announce', () => {
  const announced = '/dns4/pay.example.org/tcp/4001'

  it('is known by the announced address through identify and through the DHT, not by its listen address', async () => {
    const a = await node({ announce: [announced] })
    const b = await node()
    const c = await node()
    const fromIdentify = new Promise<string[]>(resolve => {
      c.addEventListener('peer:identify', evt => {
        if (evt.detail.peerId.equals(a.peerId)) resolve(evt.detail.listenAddrs.map(String))
      })
    })
    // a dials out: c learns a's addresses only from what a says about itself
    await a.dial(c.getMultiaddrs()[0])
    assert.deepEqual(await fromIdentify, [announced])
    await a.dial(b.getMultiaddrs()[0])
    await c.dial(b.getMultiaddrs()[0])
    await c.hangUp(a.peerId)
    await c.peerStore.delete(a.peerId)
    // c asks the DHT (b) where a is
    await until('a and c in the routing table of b', () => (b.services.dht as any).routingTable.size >= 2)
    const info = await c.peerRouting.findPeer(a.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.deepEqual(info.multiaddrs.map(String), [announced], 'only the announced address')
  })
})

describe('a daemon that others cannot reach', () => {
  it('is told so when it listens beyond loopback but announces loopback only (a public address unconfirmed)', () => {
    const ma = (s: string): ReturnType<typeof multiaddr> => multiaddr(s)
    assert.equal(announcesOnlyLoopback(['/ip4/0.0.0.0/tcp/4001'], [ma('/ip4/127.0.0.1/tcp/4001')]), true)
    assert.equal(announcesOnlyLoopback(['/ip4/0.0.0.0/tcp/4001'], []), true)
    assert.equal(announcesOnlyLoopback(['/ip4/127.0.0.1/tcp/0'], [ma('/ip4/127.0.0.1/tcp/4001')]), false)
    const lan = [ma('/ip4/127.0.0.1/tcp/4001'), ma('/ip4/192.168.1.5/tcp/4001')]
    assert.equal(announcesOnlyLoopback(['/ip4/0.0.0.0/tcp/4001'], lan), false)
    assert.equal(announcesOnlyLoopback(['/ip4/0.0.0.0/tcp/4001'], [ma('/dns4/pay.example.org/tcp/4001')]), false)
  })
})
