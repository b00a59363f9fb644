// Coin keys and the requests a holder signs with them. A coin key is a fresh Ed25519 key pair per coin and per
// holding; whoever knows its seed holds the coin at its seq. A holder request is an envelope by the coin key plus a
// BBS04 group signature over HOLDER_DOMAIN | the envelope bytes: the group signature is made and checked by the
// caller (through the worker pool), so these functions stay synchronous and pure.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import {
  ErrorCode,
  Signer,
  fail,
  fromB64,
  peerIdOfKey,
  toB64,
  type Ed25519Backend,
  type Counters,
  type Opened,
  type VerifiedCache,
  type Verifier
} from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import { SIGNATURE_BYTES } from './bbs04-params.ts'
import {
  checkHolderBody,
  checkHolderSigned,
  holderDigest,
  type HolderBody,
  type HolderSigned,
  type HolderTag
} from './messages.ts'

export interface CoinKey {
  /** the public half as a peer-id string */
  id: string
  /** the 32-byte Ed25519 seed */
  seed: Uint8Array
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The Ed25519 public key of a 32-byte seed. */
export function publicKeyOfSeed(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== 32) fail(ErrorCode.BAD_REQUEST, 'a key seed is 32 bytes')
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(spki.byteLength - 32))
}

/** A coin key from 32 random bytes (the OS CSPRNG unless given). */
export function coinKeyFromSeed(seed: Uint8Array = randomBytes(32)): CoinKey {
  const s = Uint8Array.from(seed)
  return { id: peerIdOfKey(publicKeyOfSeed(s)), seed: s }
}

export const newCoinKey = (): CoinKey => coinKeyFromSeed()

/** A Signer over a coin (or purse) key, counted like every Ed25519 signature. */
export function coinSigner(
  key: CoinKey | Uint8Array,
  backend: Ed25519Backend,
  metrics?: Counters,
  cache?: VerifiedCache
): Signer<WhopayKind> {
  const seed = key instanceof Uint8Array ? key : key.seed
  return new Signer<WhopayKind>(seed, publicKeyOfSeed(seed), backend, metrics, cache)
}

/** A holder request signed with the coin key, and the bytes its group signature must cover. */
export interface HolderEnvelope<T extends HolderBody = HolderBody> {
  env: Opened<T>
  digest: Uint8Array
}

export function signHolderEnvelope<T extends HolderBody>(
  signer: Signer<WhopayKind>,
  tag: HolderTag,
  body: T,
  kind: WhopayKind
): HolderEnvelope<T> {
  checkHolderBody(tag, body)
  const env = signer.sign<T>(tag, body, kind)
  return { env, digest: holderDigest(env.bytes) }
}

/** The wire form of a holder request once its group signature is made. */
export const holderSigned = (envBytes: Uint8Array, groupSig: Uint8Array): HolderSigned => ({
  env: toB64(envBytes),
  group: toB64(groupSig)
})

/** A holder request whose coin-key signature verified; its group signature is still to check (over `digest`). */
export interface OpenedHolder<T extends HolderBody = HolderBody> {
  tag: HolderTag
  /** the coin key that signed: the holder key at body.seq */
  holder: string
  body: T
  /** the envelope bytes received */
  env: Uint8Array
  /** sha256 hex of `env` */
  hash: string
  /** the group signature bytes received */
  group: Uint8Array
  /** what the group signature must verify over */
  digest: Uint8Array
}

/**
 * Opens a holder request: the coin-key signature against the envelope bytes received, a tag among `tags`, a well
 * formed body, a group signature of the right length. The CALLER verifies the group signature over `digest` before
 * it acts on the request.
 */
export function openHolder<T extends HolderBody = HolderBody>(
  verifier: Verifier<WhopayKind>,
  signed: unknown,
  tags: HolderTag | readonly HolderTag[],
  kind: WhopayKind
): OpenedHolder<T> {
  const s = checkHolderSigned(signed, 'holder request')
  const env = verifier.open<T>(fromB64(s.env), tags, kind)
  checkHolderBody(env.tag as HolderTag, env.body)
  const group = fromB64(s.group)
  if (group.byteLength !== SIGNATURE_BYTES) fail(ErrorCode.BAD_REQUEST, `a group signature is ${SIGNATURE_BYTES} bytes`)
  return {
    tag: env.tag as HolderTag,
    holder: env.signer,
    body: env.body,
    env: env.bytes,
    hash: env.hash,
    group,
    digest: holderDigest(env.bytes)
  }
}
