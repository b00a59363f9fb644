// validate.ts and party.ts: one check per kind of field, the same everywhere.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  checkAddrs,
  checkHash,
  checkMultiaddr,
  checkPeerId,
  checkTimestamp,
  checkToken,
  checkUint,
  decodeSigned,
  exactKeys,
  isPeerId
} from '../src/validate.ts'
import { dialTarget, party, peerIdOfAddr } from '../src/party.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const bad = (e: unknown): boolean => e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST

describe('validate', () => {
  it('numbers, hashes, tokens and timestamps', () => {
    assert.equal(checkUint(0, 'n'), 0)
    for (const v of [-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 1, null]) assert.throws(() => checkUint(v, 'n'), bad)
    assert.throws(() => checkUint(11, 'n', 10), /0\.\.10/)
    assert.equal(checkHash('a'.repeat(64), 'h'), 'a'.repeat(64))
    for (const v of ['A'.repeat(64), 'a'.repeat(63), 7]) assert.throws(() => checkHash(v, 'h'), bad)
    assert.equal(checkToken('abc-DEF_12', 't'), 'abc-DEF_12')
    for (const v of ['short', 'has|bar!', 'x'.repeat(65)]) assert.throws(() => checkToken(v, 't'), bad)
    assert.equal(checkTimestamp(1_700_000_000_000, 'at'), 1_700_000_000_000)
    assert.throws(() => checkTimestamp(-5, 'at'), /at must be a timestamp/)
  })

  it('exactKeys: every required field, nothing unknown, optional ones allowed', () => {
    exactKeys({ a: 1, b: 2 }, ['a', 'b'], 'x')
    exactKeys({ a: 1, c: 3 }, ['a'], 'x', ['c'])
    assert.throws(() => exactKeys({ a: 1 }, ['a', 'b'], 'x'), bad)
    assert.throws(() => exactKeys({ a: 1, b: 2, z: 0 }, ['a', 'b'], 'x'), /exactly the fields a, b/)
  })

  it('peer ids: the canonical Ed25519 spelling only', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    assert.equal(isPeerId(id.toString()), true)
    assert.equal(isPeerId(id.toCID().toString()), false, 'the CID spelling of the same key is another string')
    assert.equal(isPeerId('12D3KooWnope'), false)
    assert.throws(() => checkPeerId(42, 'who'), /who must be the canonical spelling/)
  })

  it('decodeSigned bounds the base64 before it decodes', () => {
    assert.deepEqual([...decodeSigned('AQID', 'x', 10)], [1, 2, 3])
    assert.throws(() => decodeSigned('A'.repeat(12), 'x', 10), bad)
    assert.throws(() => decodeSigned('', 'x', 10), bad)
    assert.throws(() => decodeSigned('AQI', 'x', 10), bad)
  })

  it('party: a peer id, or a multiaddr ending in /p2p/<id>', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.deepEqual(party(id), { id })
    const addr = `/ip4/127.0.0.1/tcp/4001/p2p/${id}`
    assert.deepEqual(party(addr), { id, addr })
    assert.equal(peerIdOfAddr(addr), id)
    assert.throws(() => party('/ip4/127.0.0.1/tcp/1', '--broker'), /--broker must be a multiaddr ending in \/p2p/)
    assert.throws(() => party('', 'to'), bad)
  })

  it('party: anything else is BAD_REQUEST, never a parser error', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const bads: unknown[] = [
      'garbage',
      'x',
      '12D3KooWnope',
      `${id}x`,
      id.slice(0, -1),
      `/ip4/999.1.1.1/tcp/1/p2p/${id}`,
      '/ip4/1.2.3.4/tcp/1/p2p/garbage',
      `/ip4/1.2.3.4/tcp/1/p2p/${id}/tcp/2`,
      `/ip4/1.2.3.4/tcp/99999/p2p/${id}`,
      '/',
      `/${'x'.repeat(2000)}`,
      42,
      null,
      undefined,
      {}
    ]
    for (const s of bads) {
      assert.throws(() => party(s as string, 'provider'), bad, JSON.stringify(s))
      if (typeof s === 'string' && s.startsWith('/')) assert.throws(() => peerIdOfAddr(s, 'addr'), bad, s)
    }
    // the last /p2p/ names the party (a relayed address names the relay first)
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const relayed = `/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit/p2p/${id}`
    assert.deepEqual(party(relayed), { id, addr: relayed })
  })

  it('dialTarget checks a party it did not make', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.equal(dialTarget({ id }).toString(), id)
    assert.equal(dialTarget({ id, addr: `/ip4/1.2.3.4/tcp/1/p2p/${id}` }).toString(), `/ip4/1.2.3.4/tcp/1/p2p/${id}`)
    assert.throws(() => dialTarget({ id: 'garbage' }), bad)
    assert.throws(() => dialTarget({ id, addr: 'x' }), bad)
    assert.throws(() => dialTarget({ id, addr: '/ip4/999.1.1.1/tcp/1' }), bad)
  })

  it('multiaddrs: parsed, every /p2p/ a peer id, or BAD_REQUEST naming the field', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.equal(checkMultiaddr('/ip4/127.0.0.1/tcp/1', 'addr').toString(), '/ip4/127.0.0.1/tcp/1')
    assert.equal(checkMultiaddr(`/dns4/p2pay.test/tcp/4001/p2p/${id}`, 'addr').getComponents().at(-1)?.value, id)
    for (const v of [
      'x',
      '/ip4/999.1.1.1/tcp/1',
      '',
      '/',
      '/ip4/1.2.3.4/tcp/1/p2p/garbage',
      `/${'a'.repeat(2000)}`,
      5
    ]) {
      assert.throws(() => checkMultiaddr(v, 'addr'), /^P2payError: addr must /, JSON.stringify(v))
      assert.throws(() => checkMultiaddr(v, 'addr'), bad)
    }
  })

  it('address lists: absent is none, else up to 8 multiaddrs', () => {
    assert.deepEqual(checkAddrs(undefined, 'addrs'), [])
    assert.deepEqual(checkAddrs(null, 'addrs'), [])
    assert.deepEqual(checkAddrs([], 'addrs'), [])
    assert.deepEqual(checkAddrs(['/ip4/127.0.0.1/tcp/1', '/dns4/p2pay.test/tcp/2'], 'addrs'), [
      '/ip4/127.0.0.1/tcp/1',
      '/dns4/p2pay.test/tcp/2'
    ])
    const many = Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`)
    for (const v of ['/ip4/127.0.0.1/tcp/1', {}, [5], ['x'], ['/ip4/127.0.0.1/tcp/1', '/ip4/999.1.1.1/tcp/1'], many]) {
      assert.throws(() => checkAddrs(v, 'addrs'), bad, JSON.stringify(v))
    }
  })
})
