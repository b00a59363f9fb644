// A peer that never ran identify (a one-off identity that only dialled) leaves the peer store when it disconnects,
// so a daemon called from a fresh identity per transaction does not keep one entry per call; a peer that ran
// identify stays.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createP2payNode } from '../src/wire/libp2p-node.ts'

const PING = '/ipfs/ping/1.0.0'

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  assert.fail(`not reached in 5 s: ${what}`)
}

test('a dial-only stranger is forgotten at its disconnect; a full peer is kept', async () => {
  const server = await createP2payNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dht: false
  })
  const stranger = await createP2payNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dialOnly: true })
  const friend = await createP2payNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dht: false })
  try {
    const addr = server.getMultiaddrs()[0]
    const stream = await stranger.dialProtocol(addr, PING)
    await stream.close()
    await until(
      async () => await server.peerStore.has(stranger.peerId),
      'the server knows the stranger while connected'
    )
    await friend.dial(addr)
    await until(
      async () =>
        (await server.peerStore.get(friend.peerId).catch(() => undefined))?.metadata.has('AgentVersion') === true,
      "the friend's identify reached the server"
    )
    await stranger.hangUp(server.peerId)
    await friend.hangUp(server.peerId)
    await until(async () => !(await server.peerStore.has(stranger.peerId)), 'the stranger is forgotten')
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.ok(await server.peerStore.has(friend.peerId), 'a peer that ran identify is kept')
  } finally {
    await Promise.all([stranger.stop(), friend.stop(), server.stop()])
  }
})
