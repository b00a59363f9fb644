// validate.ts and party.ts: one check per kind of field, the same everywhere.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  checkHash,
  checkPeerId,
  checkTimestamp,
  checkToken,
  checkUint,
  decodeSigned,
  exactKeys,
  isPeerId
} from '../src/validate.ts'
import { party, peerIdOfAddr } from '../src/party.ts'
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
})
