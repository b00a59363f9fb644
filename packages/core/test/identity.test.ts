// identity.ts: the key file in the data dir, and signerFor over it.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateIdentity, signerFor, IDENTITY_FILE } from '../src/crypto/identity.ts'
import { nodeEd25519 } from '../src/crypto/ed25519.ts'
import { Verifier } from '../src/crypto/signed.ts'

const root = mkdtempSync(join(tmpdir(), 'p2pay-core-identity-'))
after(() => rmSync(root, { recursive: true, force: true }))

describe('loadOrCreateIdentity', () => {
  it('creates an Ed25519 key in a 0600 file and returns the same key (same peer id) next time', async () => {
    const dir = mkdtempSync(join(root, 'd-'))
    const k1 = await loadOrCreateIdentity(dir)
    assert.equal(k1.type, 'Ed25519')
    const file = join(dir, IDENTITY_FILE)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(existsSync(`${file}.tmp`), false, 'the temp file was renamed into place')
    const k2 = await loadOrCreateIdentity(dir)
    assert.equal(peerIdFromPrivateKey(k2).toString(), peerIdFromPrivateKey(k1).toString())
    assert.ok(k1.equals(k2))
    const k3 = await loadOrCreateIdentity(mkdtempSync(join(root, 'd-')))
    assert.notEqual(peerIdFromPrivateKey(k3).toString(), peerIdFromPrivateKey(k1).toString())
  })

  it('signerFor the loaded key signs as that peer id, across a reload', async () => {
    const dir = mkdtempSync(join(root, 'd-'))
    const backend = nodeEd25519()
    const s1 = signerFor(await loadOrCreateIdentity(dir), backend)
    const s2 = signerFor(await loadOrCreateIdentity(dir), backend)
    assert.equal(s1.peerId, s2.peerId)
    const env = s1.sign('p2pay/id', { a: 1 }, 'test')
    assert.deepEqual(s2.sign('p2pay/id', { a: 1 }, 'test').bytes, env.bytes)
    assert.equal(new Verifier(backend).open(env.bytes, 'p2pay/id', 'test').signer, s1.peerId)
  })

  it('signerFor refuses a non-Ed25519 key', async () => {
    const k = await generateKeyPair('secp256k1')
    assert.throws(() => signerFor(k, nodeEd25519()), /Ed25519/)
  })
})
