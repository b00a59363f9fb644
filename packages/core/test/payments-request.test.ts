// payments/request.ts: a payment request is checked against the bytes
// received, its signer must be its payee, and past its expiry it is refused.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { nodeEd25519 } from '../src/crypto/ed25519.ts'
import { signerFor } from '../src/crypto/identity.ts'
import { Verifier } from '../src/crypto/signed.ts'
import type { P2payError } from '../src/errors.ts'
import { REQUEST_PREFIX, makeRequest, openRequest } from '../src/payments/request.ts'

const backend = nodeEd25519()
const verifier = new Verifier(backend)
const code = (c: string) => (e: P2payError) => e.code === c
const ADDRS = ['/ip4/127.0.0.1/tcp/4002']

describe('payment requests', () => {
  it('open what was made: scheme, amount, memo, payee and addresses, one line of text', async () => {
    const signer = signerFor(await generateKeyPair('Ed25519'), backend)
    const { text, request } = makeRequest(signer, { scheme: 'karma', amount: 7, memo: 'tea', addrs: ADDRS })
    assert.ok(text.startsWith(REQUEST_PREFIX) && !text.includes('\n'))
    const r = openRequest(verifier, text)
    assert.deepEqual(r, request)
    assert.equal(r.payee, signer.peerId)
    assert.match(r.id, /^req-[0-9a-f]{32}$/)
  })

  it('refuses changed bytes, another tag, and a request past its expiry', async () => {
    const signer = signerFor(await generateKeyPair('Ed25519'), backend)
    const now = Date.now()
    const { text } = makeRequest(signer, { scheme: 'ppay', amount: 5, expiresInMs: 60_000, addrs: ADDRS, now })
    const bytes = Buffer.from(text.slice(REQUEST_PREFIX.length), 'base64url')
    const at = bytes.indexOf(Buffer.from('"amount":5'))
    bytes[at + 9] = '6'.charCodeAt(0)
    assert.throws(() => openRequest(verifier, REQUEST_PREFIX + bytes.toString('base64url')), code('BAD_SIGNATURE'))
    assert.throws(() => openRequest(verifier, text, now + 60_000), code('EXPIRED'))
    assert.equal(openRequest(verifier, text, now + 59_000).amount, 5)
    // a signature of the same body under another domain is no request
    const other = signer.sign('p2pay/ppay/assign/v1', { amount: 5 }, 'x')
    assert.throws(
      () => openRequest(verifier, REQUEST_PREFIX + Buffer.from(other.bytes).toString('base64url')),
      code('WRONG_TAG')
    )
    assert.throws(() => openRequest(verifier, 'lnbc1...'), code('BAD_REQUEST'))
  })

  it('refuses to make a request of an unknown scheme, a bad amount or a too long memo', async () => {
    const signer = signerFor(await generateKeyPair('Ed25519'), backend)
    for (const ask of [
      { scheme: 'fairex', amount: 1 },
      { scheme: 'ppay', amount: 0 },
      { scheme: 'ppay', amount: 1.5 },
      { scheme: 'ppay', amount: 1, memo: 'x'.repeat(201) },
      { scheme: 'ppay', amount: 1, expiresInMs: 10 }
    ])
      assert.throws(() => makeRequest(signer, { ...ask, addrs: ADDRS }), code('BAD_REQUEST'))
  })
})
