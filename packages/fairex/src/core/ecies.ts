// Z = Enc_T(K, P, D): encryption to the TTP's (or judge's) public key, so only
// it can recover K in a dispute. X25519 ephemeral-static ECDH, HKDF-SHA256 and
// AES-256-GCM; the box is
//
//   [version u8 = 1][ephemeral public key 32][nonce 12][ciphertext | tag 16]
//
// The version, ephemeral key and a caller-supplied context (e.g. the cheque it
// belongs to) are authenticated as AAD, so a box cannot be moved to another
// context. TTP and judge derive their X25519 key from their Ed25519 identity,
// so anyone can encrypt to a peer id and no second key file exists.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject
} from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { Ed25519PrivateKey, PrivateKey } from '@libp2p/interface'
import { ErrorCode, concat, fail, keyOfPeerId, utf8 } from '@p2pay/core'

export const ECIES_VERSION = 1
const INFO = utf8('p2pay/fairex/ecies/v1')
const KEY_LEN = 32
const NONCE_LEN = 12
const TAG_LEN = 16
const HEADER_LEN = 1 + KEY_LEN + NONCE_LEN
export const ECIES_OVERHEAD = HEADER_LEN + TAG_LEN

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

/** Raw 32-byte X25519 keys. */
export interface X25519KeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

function checkKey(k: Uint8Array, what: string): void {
  if (!(k instanceof Uint8Array) || k.byteLength !== KEY_LEN)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a 32-byte X25519 key`)
}

const privateKeyObject = (raw: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' })
const publicKeyObject = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
const rawPublic = (k: KeyObject): Uint8Array =>
  new Uint8Array(k.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.byteLength))
const rawPrivate = (k: KeyObject): Uint8Array =>
  new Uint8Array(k.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.byteLength))

/** Shared secret, or null for a low-order public key (OpenSSL refuses the all-zero result). */
function ecdh(priv: KeyObject, pubRaw: Uint8Array): Uint8Array | null {
  try {
    return new Uint8Array(diffieHellman({ privateKey: priv, publicKey: publicKeyObject(pubRaw) }))
  } catch {
    return null
  }
}

/** The salt binds both public keys: the derived key belongs to this one exchange. */
const deriveKey = (shared: Uint8Array, ephPub: Uint8Array, recipientPub: Uint8Array): Buffer =>
  Buffer.from(hkdfSync('sha256', shared, concat([ephPub, recipientPub]), INFO, KEY_LEN))

export function eciesKeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  return { publicKey: rawPublic(publicKey), privateKey: rawPrivate(privateKey) }
}

export function x25519PublicOf(privateKey: Uint8Array): Uint8Array {
  checkKey(privateKey, 'private key')
  return rawPublic(createPublicKey(privateKeyObject(privateKey)))
}

export function eciesEncrypt(recipientPub: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(recipientPub, 'recipient key')
  const eph = generateKeyPairSync('x25519')
  const ephPub = rawPublic(eph.publicKey)
  const shared = ecdh(eph.privateKey, recipientPub)
  if (shared === null) fail(ErrorCode.BAD_REQUEST, 'recipient key is not a usable X25519 key')
  const nonce = randomBytes(NONCE_LEN)
  const header = concat([new Uint8Array([ECIES_VERSION]), ephPub, nonce])
  const c = createCipheriv('aes-256-gcm', deriveKey(shared, ephPub, recipientPub), nonce, { authTagLength: TAG_LEN })
  c.setAAD(concat([header.subarray(0, 1 + KEY_LEN), aad]))
  return concat([header, c.update(plaintext), c.final(), c.getAuthTag()])
}

/** Throws BAD_SIGNATURE for a wrong key, a wrong context or any changed byte. */
export function eciesDecrypt(recipientPriv: Uint8Array, box: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(recipientPriv, 'private key')
  if (!(box instanceof Uint8Array) || box.byteLength < ECIES_OVERHEAD) fail(ErrorCode.BAD_FRAME, 'ECIES box truncated')
  if (box[0] !== ECIES_VERSION) fail(ErrorCode.UNKNOWN_VERSION, `unknown ECIES version ${box[0]}`)
  const ephPub = box.subarray(1, 1 + KEY_LEN)
  const nonce = box.subarray(1 + KEY_LEN, HEADER_LEN)
  const priv = privateKeyObject(recipientPriv)
  const shared = ecdh(priv, ephPub)
  if (shared === null) fail(ErrorCode.BAD_SIGNATURE, 'ECIES box has a forged ephemeral key')
  const d = createDecipheriv('aes-256-gcm', deriveKey(shared, ephPub, rawPublic(createPublicKey(priv))), nonce, {
    authTagLength: TAG_LEN
  })
  d.setAAD(concat([box.subarray(0, 1 + KEY_LEN), aad]))
  d.setAuthTag(box.subarray(box.byteLength - TAG_LEN))
  try {
    const a = d.update(box.subarray(HEADER_LEN, box.byteLength - TAG_LEN))
    return new Uint8Array(Buffer.concat([a, d.final()]))
  } catch {
    fail(ErrorCode.BAD_SIGNATURE, 'ECIES box does not open: wrong key, wrong context or tampered')
  }
}

/**
 * A daemon's X25519 key pair from its 32-byte Ed25519 seed (the
 * libsodium ed25519_sk_to_curve25519 mapping), so its peer id is enough to
 * encrypt to it.
 */
export function x25519FromEd25519Seed(seed: Uint8Array): X25519KeyPair {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== 32)
    fail(ErrorCode.BAD_REQUEST, 'an Ed25519 seed is 32 bytes')
  const privateKey = ed25519.utils.toMontgomerySecret(seed)
  return { privateKey, publicKey: x25519PublicOf(privateKey) }
}

/** X25519 public key of a raw Ed25519 public key: the encrypting side of x25519FromEd25519Seed. */
export function x25519FromEd25519Public(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== 32)
    fail(ErrorCode.BAD_REQUEST, 'an Ed25519 public key is 32 bytes')
  try {
    return ed25519.utils.toMontgomery(publicKey)
  } catch {
    fail(ErrorCode.BAD_REQUEST, 'not an Ed25519 public key')
  }
}

/** peer ids whose X25519 key is remembered: a node seals to the same TTP and judge in every sale */
const MAX_KNOWN_X25519 = 256
const knownX25519 = new Map<string, Uint8Array>()

/**
 * X25519 public key of an Ed25519 peer id (a TTP's or judge's). The mapping
 * (a point decompression, about a tenth of a sale's sealing) is a pure
 * function of the id, so the last few are remembered; each caller gets its own copy.
 */
export function x25519OfPeerId(peerId: string): Uint8Array {
  let k = knownX25519.get(peerId)
  if (k == null) {
    k = x25519FromEd25519Public(keyOfPeerId(peerId))
    if (knownX25519.size >= MAX_KNOWN_X25519) knownX25519.delete(knownX25519.keys().next().value!)
    knownX25519.set(peerId, k)
  }
  return k.slice()
}

/**
 * A daemon's own X25519 key pair, from its identity key (Ed25519 raw = 32-byte
 * seed | 32-byte public key): what the TTP and judge open their Z boxes with.
 */
export function x25519Of(ctx: { privateKey: PrivateKey }): X25519KeyPair {
  if (ctx.privateKey.type !== 'Ed25519') fail(ErrorCode.BAD_REQUEST, 'identity key must be Ed25519')
  return x25519FromEd25519Seed((ctx.privateKey as Ed25519PrivateKey).raw.subarray(0, 32))
}
