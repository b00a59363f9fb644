// Signed objects: a versioned binary envelope around canonical JSON bytes.
//
//   [version u8 = 1][tagLen u8][tag][signer: 32-byte Ed25519 key][bodyLen u32be][body][sig 64]
//
// The signature covers "p2pay-signed\0" | tag | "\0" | signer | body, so a signature
// made for one domain (tag) can never be replayed as another. Verification always
// runs over the bytes received; the body is parsed only after it verified.
//
// A batch envelope carries one body of many signed at once (merkle.ts):
//
//   [version u8 = 0x10][tagLen u8][tag][signer 32][bodyLen u32be][body][sig 64][depth u8][index u32be]
//   [path: depth x 32]
//
// (laid out as a single envelope up to its signature, so a reader of the body finds it at the same place)
//
// Its signature covers "p2pay-batch\0" | tag | "\0" | signer | depth | root, where
// root is what the body's leaf hash and the path lead to. It is checked like a single
// envelope: the path over the bytes received, then the signature over the root, which
// one verification of a sibling from the same batch has already checked.
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { concat, fromUtf8, sha256Hex, utf8, canonicalJson } from '../bytes.ts'
import { ErrorCode, fail } from '../errors.ts'
import type { Ed25519Backend } from './ed25519.ts'
import type { Counters } from '../metrics.ts'
import { MAX_BATCH_DEPTH, buildTree, leafHash, rootOf } from './merkle.ts'

export const ENVELOPE_VERSION = 1
/** Version byte of a batch envelope: one body of a batch signed at once. */
export const BATCH_ENVELOPE_VERSION = 0x10
const DOMAIN = utf8('p2pay-signed\0')
const BATCH_DOMAIN = utf8('p2pay-batch\0')
const ZERO = new Uint8Array([0])
const MAX_BODY = 64 * 1024

export interface Opened<T> {
  readonly tag: string
  /** Peer id (string) of the signer, derived from the key in the envelope. */
  readonly signer: string
  readonly body: T
  /** The exact bytes received; forward these, never a re-encoding. */
  readonly bytes: Uint8Array
  /** sha256 of `bytes`, hex: the object's identity. */
  readonly hash: string
}

const peerIdCache = new Map<string, string>()
export function peerIdOfKey(raw: Uint8Array): string {
  const k = Buffer.from(raw).toString('hex')
  let id = peerIdCache.get(k)
  if (id === undefined) {
    id = peerIdFromPublicKey(publicKeyFromRaw(raw)).toString()
    if (peerIdCache.size > 8192) peerIdCache.clear()
    peerIdCache.set(k, id)
  }
  return id
}

const keyCache = new Map<string, Uint8Array>()
export function keyOfPeerId(peerId: string): Uint8Array {
  let k = keyCache.get(peerId)
  if (k === undefined) {
    let pid
    try {
      pid = peerIdFromString(peerId)
    } catch {
      fail(ErrorCode.BAD_REQUEST, `not a peer id: ${peerId.slice(0, 80)}`)
    }
    if (pid.type !== 'Ed25519' || pid.publicKey == null)
      fail(ErrorCode.BAD_REQUEST, `peer id is not an Ed25519 key: ${peerId.slice(0, 80)}`)
    k = pid.publicKey.raw
    if (keyCache.size > 8192) keyCache.clear()
    keyCache.set(peerId, k)
  }
  return k
}

function signingInput(tag: Uint8Array, signer: Uint8Array, body: Uint8Array): Uint8Array {
  return concat([DOMAIN, tag, ZERO, signer, body])
}

function batchSigningInput(tag: Uint8Array, signer: Uint8Array, depth: number, root: Uint8Array): Uint8Array {
  return concat([BATCH_DOMAIN, tag, ZERO, signer, new Uint8Array([depth]), root])
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

/**
 * Hashes of envelopes this process already opened (signature and canonical
 * body checked), or made itself. Keyed by sha256 of the exact bytes, so a hit
 * is as good as a fresh check; bounded, oldest first out.
 */
export class VerifiedCache {
  private readonly set = new Set<string>()
  private readonly max: number
  constructor(max = 200_000) {
    this.max = max
  }
  has(hash: string): boolean {
    return this.set.has(hash)
  }
  add(hash: string): void {
    if (this.set.has(hash)) return
    if (this.set.size >= this.max) this.set.delete(this.set.values().next().value as string)
    this.set.add(hash)
  }
}

/** Holds a private key; signs bodies into envelopes and counts each signature. */
export class Signer<K extends string = string> {
  readonly peerId: string
  readonly publicKey: Uint8Array
  private readonly seed: Uint8Array
  private readonly backend: Ed25519Backend
  private readonly metrics?: Counters
  private readonly cache?: VerifiedCache

  constructor(
    seed: Uint8Array,
    publicKey: Uint8Array,
    backend: Ed25519Backend,
    metrics?: Counters,
    cache?: VerifiedCache
  ) {
    this.cache = cache
    this.seed = seed
    this.publicKey = publicKey
    this.backend = backend
    this.metrics = metrics
    this.peerId = peerIdOfKey(publicKey)
  }

  sign<T>(tag: string, body: T, kind: K): Opened<T> {
    const tagBytes = utf8(tag)
    const bodyBytes = utf8(canonicalJson(body))
    if (tagBytes.byteLength > 255) throw new TypeError('tag too long')
    const sig = this.backend.sign(this.seed, signingInput(tagBytes, this.publicKey, bodyBytes))
    this.metrics?.signed(kind)
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, bodyBytes.byteLength)
    const bytes = concat([
      new Uint8Array([ENVELOPE_VERSION, tagBytes.byteLength]),
      tagBytes,
      this.publicKey,
      len,
      bodyBytes,
      sig
    ])
    const hash = sha256Hex(bytes)
    this.cache?.add(hash)
    return { tag, signer: this.peerId, body, bytes, hash }
  }

  /**
   * Signs many bodies under one tag with one signature (a batch envelope
   * each, see the header); counted as one signature generated.
   */
  signBatch<T>(tag: string, bodies: T[], kind: K): Array<Opened<T>> {
    if (bodies.length === 0) return []
    const tagBytes = utf8(tag)
    if (tagBytes.byteLength > 255) throw new TypeError('tag too long')
    const bodyBytes = bodies.map(b => utf8(canonicalJson(b)))
    const { root, depth, paths } = buildTree(bodyBytes.map(leafHash))
    const sig = this.backend.sign(this.seed, batchSigningInput(tagBytes, this.publicKey, depth, root))
    this.metrics?.signed(kind)
    const head = concat([new Uint8Array([BATCH_ENVELOPE_VERSION, tagBytes.byteLength]), tagBytes, this.publicKey])
    return bodies.map((body, i) => {
      const bytes = concat([
        head,
        u32(bodyBytes[i].byteLength),
        bodyBytes[i],
        sig,
        new Uint8Array([depth]),
        u32(i),
        ...paths[i]
      ])
      const hash = sha256Hex(bytes)
      this.cache?.add(hash)
      return { tag, signer: this.peerId, body, bytes, hash }
    })
  }
}

/** An envelope's parts (views into its bytes), by layout; nothing checked beyond the layout. */
type Parts =
  | { batch: false; tagBytes: Uint8Array; signer: Uint8Array; body: Uint8Array; sig: Uint8Array }
  | {
      batch: true
      tagBytes: Uint8Array
      signer: Uint8Array
      body: Uint8Array
      sig: Uint8Array
      depth: number
      index: number
      path: Uint8Array[]
    }

/** The parts of an envelope's bytes, or a BAD_FRAME / UNKNOWN_VERSION error. */
function splitEnvelope(bytes: Uint8Array): Parts {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 2 + 32 + 4 + 64)
    fail(ErrorCode.BAD_FRAME, 'signed object truncated')
  const version = bytes[0]
  if (version !== ENVELOPE_VERSION && version !== BATCH_ENVELOPE_VERSION)
    fail(ErrorCode.UNKNOWN_VERSION, `unknown signed-object version ${version}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const tagLen = bytes[1]
  let o = 2
  const tagBytes = bytes.subarray(o, o + tagLen)
  o += tagLen
  const signer = bytes.subarray(o, o + 32)
  o += 32
  if (o + 4 > bytes.byteLength) fail(ErrorCode.BAD_FRAME, 'signed object truncated')
  const bodyLen = view.getUint32(o)
  o += 4
  if (bodyLen > MAX_BODY || o + bodyLen + 64 > bytes.byteLength)
    fail(ErrorCode.BAD_FRAME, 'signed object length mismatch')
  const body = bytes.subarray(o, o + bodyLen)
  o += bodyLen
  const sig = bytes.subarray(o, o + 64)
  o += 64
  if (version === ENVELOPE_VERSION) {
    if (o !== bytes.byteLength) fail(ErrorCode.BAD_FRAME, 'signed object length mismatch')
    return { batch: false, tagBytes, signer, body, sig }
  }
  if (o + 1 + 4 > bytes.byteLength) fail(ErrorCode.BAD_FRAME, 'signed object truncated')
  const depth = bytes[o++]
  const index = view.getUint32(o)
  o += 4
  if (depth > MAX_BATCH_DEPTH || index >= 2 ** depth) fail(ErrorCode.BAD_FRAME, 'batch position out of range')
  if (o + depth * 32 !== bytes.byteLength) fail(ErrorCode.BAD_FRAME, 'signed object length mismatch')
  const path: Uint8Array[] = []
  for (let d = 0; d < depth; d++, o += 32) path.push(bytes.subarray(o, o + 32))
  return { batch: true, tagBytes, signer, body, sig, depth, index, path }
}

/** Verifies an envelope against the bytes received. Rejects unknown versions and tags. */
export class Verifier<K extends string = string> {
  private readonly backend: Ed25519Backend
  private readonly metrics?: Counters
  private readonly cache?: VerifiedCache
  constructor(backend: Ed25519Backend, metrics?: Counters, cache?: VerifiedCache) {
    this.backend = backend
    this.metrics = metrics
    this.cache = cache
  }

  open<T>(bytes: Uint8Array, tags: string | readonly string[], kind: K): Opened<T> {
    const parts = splitEnvelope(bytes)
    const { tagBytes, signer, body } = parts
    let tag: string
    try {
      tag = fromUtf8(tagBytes)
    } catch {
      fail(ErrorCode.BAD_FRAME, 'tag is not utf-8')
    }
    const allowed = typeof tags === 'string' ? [tags] : tags
    if (!allowed.includes(tag)) fail(ErrorCode.WRONG_TAG, `expected ${allowed.join(' or ')}, got ${tag.slice(0, 64)}`)
    const copy = bytes.slice()
    const hash = sha256Hex(copy)
    // bytes opened before passed every check below; bytes signed here were made canonical: neither is checked again
    const known = this.cache?.has(hash) === true
    if (!known) {
      if (parts.batch) this.checkBatch(parts, tag, kind)
      else {
        this.metrics?.verified(kind)
        if (!this.backend.verify(signer, signingInput(tagBytes, signer, body), parts.sig))
          fail(ErrorCode.BAD_SIGNATURE, `bad signature on ${tag}`)
      }
    }
    let parsed: T
    let text: string
    try {
      text = fromUtf8(body)
      parsed = JSON.parse(text) as T
    } catch {
      fail(ErrorCode.BAD_FRAME, `body of ${tag} is not JSON`)
    }
    if (parsed == null || typeof parsed !== 'object') fail(ErrorCode.BAD_FRAME, `body of ${tag} is not an object`)
    // one object, one encoding: otherwise a signer could mint many hashes for one statement
    if (!known) {
      let canonical: string | undefined
      try {
        canonical = canonicalJson(parsed)
      } catch {}
      if (canonical !== text) fail(ErrorCode.BAD_FRAME, `body of ${tag} is not canonical JSON`)
      this.cache?.add(hash)
    }
    return { tag, signer: peerIdOfKey(signer), body: parsed, bytes: copy, hash }
  }

  /** A batch envelope's path leads to a root its signer signed (checked once per batch while the cache holds it). */
  private checkBatch(p: Extract<Parts, { batch: true }>, tag: string, kind: K): void {
    const root = rootOf(leafHash(p.body), p.index, p.path)
    const input = batchSigningInput(p.tagBytes, p.signer, p.depth, root)
    // the statement "signer signed this root under this tag" with this signature, checked or not
    const key = `batch:${sha256Hex(concat([input, p.sig]))}`
    if (this.cache?.has(key) === true) return
    this.metrics?.verified(kind)
    if (!this.backend.verify(p.signer, input, p.sig)) fail(ErrorCode.BAD_SIGNATURE, `bad signature on ${tag}`)
    this.cache?.add(key)
  }
}

/**
 * The tag, signer and parsed body of an envelope WITHOUT checking its
 * signature, or undefined if it does not even parse. Only for recognising a
 * message that repeats something this process already verified and acted on,
 * so that it can be answered without acting again; never for acting on what it
 * says.
 */
export function peekUnverified<T>(bytes: Uint8Array): { tag: string; signer: string; body: T } | undefined {
  try {
    const e = splitEnvelope(bytes)
    const body = JSON.parse(fromUtf8(e.body)) as T
    return body != null && typeof body === 'object'
      ? { tag: fromUtf8(e.tagBytes), signer: peerIdOfKey(e.signer), body }
      : undefined
  } catch {
    return undefined
  }
}
