// BLS12-381 signatures, "min_pk": public keys in G1 (48 bytes compressed),
// signatures in G2 (96 bytes). The only file that touches @chainsafe/blst, so
// the scheme can change libraries here alone.
//
// Hash-to-curve tag of every message: MESSAGE_DST, the one blst 2.x signs and
// verifies under (it takes no tag per call). A proof of possession (PoP) should
// be hashed under POP_DST; since blst cannot take that tag, a PoP signs
// "p2pay/aggsign/pop/v1\0" || key || peer id under MESSAGE_DST instead: every
// other signed message starts with another domain string (messages.ts), so a
// PoP can never be read as a coin message, nor a coin message as a PoP.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { PublicKey, SecretKey, Signature } from '@chainsafe/blst'
import { ErrorCode, Lru, concat, fail, fromB64, toB64, utf8 } from '@p2pay/core'

const require = createRequire(import.meta.url)
let lib: typeof import('@chainsafe/blst') | undefined
/** blst's native addon (about 3 MiB resident), loaded at the first BLS operation: most nodes never make one. */
const blst = (): typeof import('@chainsafe/blst') => (lib ??= require('@chainsafe/blst'))

/** The hash-to-G2 tag of every signed message (blst 2.x's own). */
export const MESSAGE_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'
/** The IETF tag of proofs of possession; not settable in blst 2.x, replaced by POP_DOMAIN in the message. */
export const POP_DST = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'
/** What a PoP message starts with, in place of POP_DST. */
export const POP_DOMAIN = 'p2pay/aggsign/pop/v1\0'

export const SECRET_KEY_BYTES = 32
/** A compressed G1 point. */
export const PUBLIC_KEY_BYTES = 48
/** A compressed G2 point. */
export const SIGNATURE_BYTES = 96

/** decoded keys kept: each key is subgroup-checked once, not at every coin that names it */
const KEY_CACHE = 4096
const keys = new Lru<string, PublicKey>(KEY_CACHE)

export interface BlsKeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

/** A fresh key from 32 bytes of the OS CSPRNG (IETF KeyGen). */
export function generateKey(): BlsKeyPair {
  const sk = blst().SecretKey.fromKeygen(randomBytes(32))
  return { secretKey: sk.toBytes(), publicKey: sk.toPublicKey().toBytes() }
}

function secretKey(sk: Uint8Array): SecretKey {
  if (!(sk instanceof Uint8Array) || sk.byteLength !== SECRET_KEY_BYTES)
    fail(ErrorCode.BAD_REQUEST, `a BLS secret key is ${SECRET_KEY_BYTES} bytes`)
  try {
    return blst().SecretKey.fromBytes(sk)
  } catch {
    fail(ErrorCode.BAD_REQUEST, 'not a BLS secret key')
  }
}

export const publicKeyOf = (sk: Uint8Array): Uint8Array => secretKey(sk).toPublicKey().toBytes()

export function sign(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  return secretKey(sk).sign(msg).toBytes()
}

/**
 * A received public key: 48 bytes, on the curve, in the subgroup, not the point
 * at infinity; else BAD_REQUEST.
 */
export function decodePublicKey(bytes: Uint8Array): PublicKey {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== PUBLIC_KEY_BYTES)
    fail(ErrorCode.BAD_REQUEST, `a BLS public key is ${PUBLIC_KEY_BYTES} bytes`)
  const k = toB64(bytes)
  const known = keys.get(k)
  if (known != null) return known
  let pk: PublicKey
  try {
    pk = blst().PublicKey.fromBytes(bytes)
    pk.keyValidate()
  } catch {
    fail(ErrorCode.BAD_REQUEST, 'not a valid BLS public key (off the curve, outside the subgroup or infinity)')
  }
  keys.set(k, pk)
  return pk
}

/** A received signature: 96 bytes, on the curve, in the subgroup, not infinity; else BAD_REQUEST. */
export function decodeSignature(bytes: Uint8Array): Signature {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== SIGNATURE_BYTES)
    fail(ErrorCode.BAD_REQUEST, `a BLS signature is ${SIGNATURE_BYTES} bytes`)
  try {
    const sig = blst().Signature.fromBytes(bytes)
    sig.sigValidate()
    return sig
  } catch {
    fail(ErrorCode.BAD_REQUEST, 'not a valid BLS signature (off the curve, outside the subgroup or infinity)')
  }
}

/** A base64 key from a message or a request, decoded and validated. */
export function checkPublicKeyB64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== 64) fail(ErrorCode.BAD_REQUEST, `${what} must be a base64 BLS key`)
  const bytes = fromB64(v)
  decodePublicKey(bytes)
  return bytes
}

/** A base64 signature from a message or a request, decoded and validated. */
export function checkSignatureB64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== 128) fail(ErrorCode.BAD_REQUEST, `${what} must be a base64 BLS signature`)
  const bytes = fromB64(v)
  decodeSignature(bytes)
  return bytes
}

/** One signature of one message; malformed keys or signatures are BAD_REQUEST, a wrong signature false. */
export function verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  return blst().aggregateVerify([msg], [decodePublicKey(pk)], decodeSignature(sig))
}

/** The sum of signatures (each checked as received ones are). */
export function aggregate(sigs: Uint8Array[]): Uint8Array {
  if (sigs.length === 0) fail(ErrorCode.BAD_REQUEST, 'nothing to aggregate')
  return blst().aggregateSignatures(sigs.map(decodeSignature)).toBytes()
}

/** Whether `sig` is the aggregate of one signature of each msgs[i] by pks[i] (messages must all differ). */
export function aggregateVerify(msgs: Uint8Array[], pks: Uint8Array[], sig: Uint8Array): boolean {
  if (msgs.length === 0 || msgs.length !== pks.length) fail(ErrorCode.BAD_REQUEST, 'one key per message')
  return blst().aggregateVerify(msgs, pks.map(decodePublicKey), decodeSignature(sig))
}

/** The message a PoP signs: the key, bound to the peer that asks for its certificate. */
export const popMessage = (pk: Uint8Array, peer: string): Uint8Array => concat([utf8(POP_DOMAIN), pk, utf8(peer)])

export const proveKey = (sk: Uint8Array, peer: string): Uint8Array => sign(sk, popMessage(publicKeyOf(sk), peer))

export const verifyPop = (pk: Uint8Array, peer: string, pop: Uint8Array): boolean =>
  verify(pk, popMessage(pk, peer), pop)
