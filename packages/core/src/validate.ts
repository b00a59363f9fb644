// Checks for input from the network and the control API, in one place: every
// scheme's message checks are built from these, so one field is checked one
// way everywhere. Each `check*` throws BAD_REQUEST naming the field.
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { fromB64 } from './bytes.ts'
import { ErrorCode, fail } from './errors.ts'

const HASH = /^[0-9a-f]{64}$/
/** Serials and nonces become parts of table keys: no separators, bounded length. */
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/
const MAX_PEER_ID = 128
const MAX_MULTIADDR = 1024
/** addresses a caller may give for one peer */
const MAX_ADDRS = 8

export const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
/** sha256, as 64 lowercase hex digits */
export const isHash = (v: unknown): v is string => typeof v === 'string' && HASH.test(v)
export const isToken = (v: unknown): v is string => typeof v === 'string' && TOKEN.test(v)
/** A time in ms since the epoch: the same check as an unsigned integer, named for what it holds. */
export const isTimestamp = isUint

export function checkUint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!isUint(v) || v > max) fail(ErrorCode.BAD_REQUEST, `${what} must be an integer 0..${max}`)
  return v
}

export function checkHash(v: unknown, what: string): string {
  if (!isHash(v)) fail(ErrorCode.BAD_REQUEST, `${what} must be 64 lowercase hex digits`)
  return v
}

export function checkToken(v: unknown, what: string): string {
  if (!isToken(v)) fail(ErrorCode.BAD_REQUEST, `${what} must be 8..64 characters of [A-Za-z0-9_-]`)
  return v
}

export function checkTimestamp(v: unknown, what: string): number {
  if (!isTimestamp(v)) fail(ErrorCode.BAD_REQUEST, `${what} must be a timestamp (ms)`)
  return v
}

/**
 * A peer's timestamp `ts` is within `maxSkewMs` of this clock's `now`, either
 * way; else CLOCK_SKEW naming both clocks (so a user can tell it from a bad message).
 */
export function checkClock(ts: number, now: number, maxSkewMs: number, what: string): void {
  if (Math.abs(ts - now) <= maxSkewMs) return
  const min = (ms: number): string => `${Math.round(ms / 6000) / 10} min`
  const iso = (t: number): string => (Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : `${t} ms`)
  const side = ts > now ? 'ahead of' : 'behind'
  fail(
    ErrorCode.CLOCK_SKEW,
    `${what} is dated ${iso(ts)}, ${min(Math.abs(ts - now))} ${side} this clock (${iso(now)}); ` +
      `clocks may differ by at most ${min(maxSkewMs)}: check both clocks`,
    { theirs: ts, ours: now, maxSkewMs }
  )
}

/** `o` has every `required` field, and no field outside `required` and `optional`. */
export function exactKeys(
  o: object,
  required: readonly string[],
  what: string,
  optional: readonly string[] = []
): void {
  const ok =
    required.every(k => Object.hasOwn(o, k)) && Object.keys(o).every(k => required.includes(k) || optional.includes(k))
  if (!ok) {
    const more = optional.length > 0 ? ` (and optionally ${optional.join(', ')})` : ''
    fail(ErrorCode.BAD_REQUEST, `${what} must have exactly the fields ${required.join(', ')}${more}`)
  }
}

const canonical = new Map<string, boolean>()

/**
 * Whether `id` is the canonical (base58btc) spelling of an Ed25519 peer id.
 * Accounts and bank members need one spelling per key (a bank key hashes the
 * string), and an Ed25519 id embeds the key its signatures are checked with.
 */
export function isPeerId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_PEER_ID) return false
  let ok = canonical.get(id)
  if (ok === undefined) {
    try {
      const pid = peerIdFromString(id)
      ok = pid.type === 'Ed25519' && pid.toString() === id
    } catch {
      ok = false
    }
    if (canonical.size > 16384) canonical.clear()
    canonical.set(id, ok)
  }
  return ok
}

export function checkPeerId(id: unknown, what: string): string {
  if (!isPeerId(id)) fail(ErrorCode.BAD_REQUEST, `${what} must be the canonical spelling of an Ed25519 peer id`)
  return id
}

/**
 * A multiaddr from outside: it parses, says something, and each /p2p/ in it is
 * a peer id (the parser takes any text there, and a dial would then throw).
 */
export function checkMultiaddr(v: unknown, what: string): Multiaddr {
  let ma: Multiaddr | undefined
  if (typeof v === 'string' && v.length <= MAX_MULTIADDR) {
    try {
      ma = multiaddr(v)
    } catch {}
  }
  const parts = ma?.getComponents() ?? []
  if (ma == null || parts.length === 0) fail(ErrorCode.BAD_REQUEST, `${what} must be a multiaddr, got ${clip(v)}`)
  if (parts.some(c => c.name === 'p2p' && !isPeerId(c.value)))
    fail(ErrorCode.BAD_REQUEST, `${what} must name Ed25519 peer ids after /p2p/, got ${clip(v)}`)
  return ma
}

/** An optional list of multiaddrs where a peer listens (a hint for the dial): [] when absent. */
export function checkAddrs(v: unknown, what: string): string[] {
  if (v == null) return []
  if (!Array.isArray(v) || v.length > MAX_ADDRS) fail(ErrorCode.BAD_REQUEST, `${what} must be a list of multiaddrs`)
  return v.map((a, i) => checkMultiaddr(a, `${what}[${i}]`).toString())
}

const clip = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.slice(0, 80)) : typeof v)

/**
 * A base64 signed envelope from the network or an API, checked for type and
 * size before it is decoded (each scheme picks the largest envelope it takes).
 */
export function decodeSigned(b64: unknown, what: string, maxB64: number): Uint8Array {
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length > maxB64) {
    fail(ErrorCode.BAD_REQUEST, `${what} must be a base64 signed object`)
  }
  return fromB64(b64)
}

/**
 * A request field that must be text: itself if it is a string, else '' for the
 * check that follows to refuse. Never String(v): a JSON object with its own
 * `toString` key makes String() throw, a number becomes text (a file name).
 */
export const textOf = (v: unknown): string => (typeof v === 'string' ? v : '')
