import { createHash, randomBytes } from 'node:crypto'
import { ErrorCode, P2payError } from './errors.ts'

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export const utf8 = (s: string): Uint8Array => enc.encode(s)
export const fromUtf8 = (b: Uint8Array): string => dec.decode(b)
export const toB64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** Strict base64: one spelling per byte string (Buffer.from alone skips junk and stops at padding). */
export const fromB64 = (s: string): Uint8Array => {
  if (!B64.test(s)) throw new P2payError(ErrorCode.BAD_REQUEST, 'not canonical base64')
  const b = Buffer.from(s, 'base64')
  if (b.toString('base64') !== s) throw new P2payError(ErrorCode.BAD_REQUEST, 'not canonical base64')
  return new Uint8Array(b)
}
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
/** Unpredictable identifiers (serials, nonces): always from the OS CSPRNG. */
export const randomId = (bytes = 16): string => randomBytes(bytes).toString('hex')

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.byteLength
  }
  return out
}

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
