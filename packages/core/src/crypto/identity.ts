// A daemon's identity key lives in its data dir, so it keeps its peer id across restarts.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PrivateKey } from '@libp2p/interface'
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { Signer, type VerifiedCache } from './signed.ts'
import type { Ed25519Backend } from './ed25519.ts'
import type { Metrics } from '../metrics.ts'

export const IDENTITY_FILE = 'identity.key'

export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE)
  if (existsSync(file)) return privateKeyFromProtobuf(readFileSync(file))
  const key = await generateKeyPair('Ed25519')
  const tmp = `${file}.tmp`
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  renameSync(tmp, file)
  return key
}

/** Signer over the identity key (Ed25519 raw = 32-byte seed | 32-byte public key). */
export function signerFor(key: PrivateKey, backend: Ed25519Backend, metrics?: Metrics, cache?: VerifiedCache): Signer {
  if (key.type !== 'Ed25519') throw new Error('identity key must be Ed25519')
  const raw = (key as Ed25519PrivateKey).raw
  return new Signer(raw.subarray(0, 32), key.publicKey.raw, backend, metrics, cache)
}
