// What the fuzzer sends on a stream: captured frames replayed whole or
// mutated (bit flips, truncation, oversize length prefixes, random bytes, and
// well-framed JSON with hostile values: huge numbers, deep nesting, wrong
// types, prototype keys, tampered base64). A case is the raw bytes to write,
// so a length prefix can lie.
import { concat, DEFAULT_MAX_FRAME, encodeFrame } from '@p2pay/core'
import type { Rng } from './rng.ts'

/** One stream's worth of fuzz input: `chunks` written as they are, then the write side is closed. */
export interface WireCase {
  kind: string
  chunks: Uint8Array[]
}

/** The largest frame a daemon takes: a prefix past it is refused before any body. */
export const MAX_FRAME = DEFAULT_MAX_FRAME
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

/** Unsigned LEB128 varint, the length prefix of a frame (any length: a prefix may lie). */
export function varint(n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return new Uint8Array(out)
}

/** A whole frame: the length prefix the daemons read, then the payload. */
export const frame = encodeFrame

/** Values as JSON text (some have no JS value that serializes to them: 2^53+1, 1e999, deep nesting). */
const HOSTILE_JSON = [
  '1e308',
  '-1e308',
  '9007199254740993',
  '123456789012345678901234567890',
  '1e999',
  '-1',
  '0',
  '-0',
  '0.5',
  '5e-324',
  '""',
  '"\\u0000"',
  '"\\ud800"',
  '"__proto__"',
  '"constructor"',
  '"../../../etc/passwd"',
  'null',
  'true',
  '[]',
  '{}',
  '[1,2,3]',
  '{"__proto__":{"ok":true,"holds":false,"admin":true}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"toString":1,"valueOf":"x","hasOwnProperty":null,"then":1}'
]
const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n)
const nestedObj = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'then']

export function hostileJson(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return nested(rng.pick([64, 1000, 5000, 100_000]))
    case 1:
      return nestedObj(rng.pick([64, 1000, 5000]))
    case 2:
      return JSON.stringify('x'.repeat(rng.pick([1000, 100_000, 600_000])))
    case 3:
      return `[${Array.from({ length: rng.pick([1000, 50_000]) }, () => '1').join(',')}]`
    default:
      return rng.pick(HOSTILE_JSON)
  }
}

type Path = Array<string | number>
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at)
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out))
  else if (v != null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out)
  return out
}
const getAt = (v: any, p: Path): any => p.reduce((o, k) => o?.[k], v)

/** `value` with one node replaced by the JSON text `raw` (through a marker, so raw text survives stringify). */
function replaceAt(value: unknown, p: Path, raw: string): string {
  const marker = '\u0001fuzz-marker\u0001'
  if (p.length === 0) return raw
  const copy = structuredClone(value) as any
  const parent = getAt(copy, p.slice(0, -1))
  parent[p[p.length - 1]] = marker
  return JSON.stringify(copy).replace(JSON.stringify(marker), () => raw)
}

/** A JSON frame with hostile values in place of some of its own. */
export function hostileFrame(rng: Rng, value: unknown): string {
  const all = paths(value)
  const p = rng.pick(all)
  const node = getAt(value, p)
  const r = rng.int(4)
  if (r === 0 && typeof node === 'string' && node.length > 8) {
    // tamper one character of a string (a base64 envelope, a peer id, a hash)
    const i = rng.int(node.length)
    const c = node[i] === 'A' ? 'B' : 'A'
    return replaceAt(value, p, JSON.stringify(node.slice(0, i) + c + node.slice(i + 1)))
  }
  if (r === 1 && node != null && typeof node === 'object' && !Array.isArray(node)) {
    // a prototype key added next to the real ones (as JSON text: JSON.parse makes it an own property)
    const text = JSON.stringify(node)
    const extra = `${JSON.stringify(rng.pick(PROTO_KEYS))}:${hostileJson(rng)}`
    const raw = text === '{}' ? `{${extra}}` : `{${extra},${text.slice(1)}`
    return replaceAt(value, p, raw)
  }
  if (r === 2 && typeof node === 'number') {
    return replaceAt(value, p, rng.pick(['1e308', '-1', '9007199254740993', '0.5', '"1"', 'null', '-0']))
  }
  return replaceAt(value, p, hostileJson(rng))
}

const parseJson = (b: Uint8Array): unknown => {
  try {
    return JSON.parse(dec.decode(b))
  } catch {
    return undefined
  }
}

function flipBits(rng: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice()
  if (out.byteLength === 0) return out
  for (let n = 1 + rng.int(8); n > 0; n--) out[rng.int(out.byteLength)] ^= 1 << rng.int(8)
  return out
}

/**
 * One fuzz case for a protocol, given the frames captured on its streams
 * (each entry one stream's frames, in order; may be empty for a protocol the
 * session never spoke) and ops seen on any protocol.
 */
export function makeCase(rng: Rng, sessions: Uint8Array[][], ops: string[]): WireCase {
  const session = sessions.length > 0 ? rng.pick(sessions) : []
  const i = session.length > 0 ? rng.int(session.length) : -1
  const with1 = (kind: string, f: Uint8Array): WireCase => ({
    kind,
    chunks: session.map((x, j) => frame(j === i ? f : x))
  })
  const choice = rng.int(12)
  if (i >= 0 && choice === 0) return { kind: 'replay', chunks: session.map(frame) }
  if (i >= 0 && choice === 1) return with1('bitflip', flipBits(rng, session[i]))
  if (i >= 0 && choice === 2) return with1('truncated', session[i].subarray(0, rng.int(session[i].byteLength)))
  if (i >= 0 && choice === 3) {
    // the wire cut inside a frame: the prefix promises more than comes before the end of the stream
    const all = concat(session.map(frame))
    return { kind: 'cut', chunks: [all.subarray(0, 1 + rng.int(Math.max(1, all.byteLength - 1)))] }
  }
  if (choice === 4) {
    const len = rng.pick([MAX_FRAME + 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER])
    const endless = rng.chance(0.3)
    const prefix = endless ? new Uint8Array(16).fill(0xff) : varint(len)
    return { kind: endless ? 'endless-prefix' : 'oversize', chunks: [prefix, rng.bytes(rng.int(4096))] }
  }
  if (choice === 5) return { kind: 'random-raw', chunks: [rng.bytes(1 + rng.int(2048))] }
  if (choice === 6) return { kind: 'random-frame', chunks: [frame(rng.bytes(rng.int(4096)))] }
  if (choice === 7) {
    // valid framing, a request with a hostile id, an op of some protocol and hostile args
    const id = rng.pick(['1', '-1', '1e308', '"1"', 'null', '9007199254740993', '{}'])
    const op = ops.length > 0 && rng.chance(0.8) ? rng.pick(ops) : rng.pick(['__proto__', 'constructor', 'x'])
    const text = `{"id":${id},"op":${JSON.stringify(op)},"args":${hostileJson(rng)}}`
    return { kind: 'hostile-request', chunks: [frame(enc.encode(text))] }
  }
  if (choice === 8 && i >= 0) {
    // the same frame many times over one stream: pipelining past the in-flight bound
    return { kind: 'flood', chunks: Array.from({ length: 50 + rng.int(200) }, () => frame(session[i])) }
  }
  const value = i >= 0 ? parseJson(session[i]) : undefined
  if (value === undefined) {
    const op = ops.length > 0 ? rng.pick(ops) : 'x'
    const text = `{"id":1,"op":${JSON.stringify(op)},"args":${hostileJson(rng)}}`
    return { kind: 'hostile-request', chunks: [frame(enc.encode(text))] }
  }
  return with1('hostile-json', enc.encode(hostileFrame(rng, value)))
}
