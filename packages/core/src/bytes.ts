// Byte handling from uint8arrays (the js-libp2p family's own), under the names
// the code has always called, except base64 and hex: uint8arrays codes them in
// JavaScript, 20-50 times slower than Node's Buffer for an envelope of 700
// bytes (measured: 30 us against 1.3-6.7 us), and every received envelope is
// decoded from base64. Hashing and randomness from node:crypto.
import { hash, randomBytes } from 'node:crypto'
import { compare } from 'uint8arrays/compare'
import { concat as concatBytes } from 'uint8arrays/concat'
import { equals } from 'uint8arrays/equals'
import { fromString } from 'uint8arrays/from-string'
import { ErrorCode, P2payError } from './errors.ts'

// uint8arrays' utf8 decoding replaces a bad sequence with U+FFFD; received bytes must be refused instead
const dec = new TextDecoder('utf-8', { fatal: true })

export const utf8 = (s: string): Uint8Array => fromString(s, 'utf8')
/** Strict UTF-8: throws TypeError on bytes that are not valid UTF-8. */
export const fromUtf8 = (b: Uint8Array): string => dec.decode(b)
const view = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)
export const toB64 = (b: Uint8Array): string => view(b).toString('base64')
/**
 * Strict base64: one spelling per byte string. Buffer's decoder is lenient (it
 * skips junk and whitespace, takes the URL alphabet, missing padding and unused
 * low bits set), so the string must be exactly what the bytes encode to: that
 * refuses every other spelling, and costs a sixth of a pattern test before it.
 */
export const fromB64 = (s: string): Uint8Array => {
  if (typeof s !== 'string') throw new P2payError(ErrorCode.BAD_REQUEST, 'not canonical base64')
  const b = Buffer.from(s, 'base64')
  if (b.toString('base64') !== s) throw new P2payError(ErrorCode.BAD_REQUEST, 'not canonical base64')
  // a copy: a small Buffer is a view on Node's shared pool
  return new Uint8Array(b)
}
export const toHex = (b: Uint8Array): string => view(b).toString('hex')
// one-shot: no Hash object per call (the objects hashed most are envelopes of a few hundred bytes)
export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(hash('sha256', b, 'buffer'))
export const sha256Hex = (b: Uint8Array): string => hash('sha256', b, 'hex')
/** Unpredictable identifiers (serials, nonces): always from the OS CSPRNG. */
export const randomId = (bytes = 16): string => randomBytes(bytes).toString('hex')

export const concat = (parts: Uint8Array[]): Uint8Array => concatBytes(parts)
/** Same bytes (not constant time: for public values only). */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => equals(a, b)
/** Byte order, for sort(). */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => compare(a, b)

/** Canonical JSON: sorted keys, no undefined, integers only (no float ambiguity). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON takes safe integers only, got ${value}`)
      return String(value)
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
      const keys = Object.keys(value as object)
        .filter(k => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
      const entry = (k: string): string =>
        `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`
      return `{${keys.map(entry).join(',')}}`
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`)
  }
}
