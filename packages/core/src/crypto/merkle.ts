// The hash tree under a batch signature: one Ed25519 signature over the root
// of a tree of bodies, each body carried with the path that leads to it.
//
// Leaves and inner nodes are hashed under distinct prefixes (0x00 body,
// 0x01 left|right, as in RFC 6962), so a leaf can never pass as an inner node
// or the other way round. The tree is padded to a power of two with a node no
// body hashes to (0x02), so a leaf's index bits give its path's directions and
// the depth, which the signature covers, fixes the path's length.
import { createHash } from 'node:crypto'
import { toHex } from '../bytes.ts'

/** Deepest tree a batch signature may cover (2^20 bodies). */
export const MAX_BATCH_DEPTH = 20

const sha = (parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const LEAF = new Uint8Array([0])
const NODE = new Uint8Array([1])
const PAD = sha([new Uint8Array([2])])

export const leafHash = (body: Uint8Array): Uint8Array => sha([LEAF, body])

/**
 * Inner nodes already hashed, by their two children. The envelopes of one batch
 * share most of their paths, and a hash through node:crypto costs about four
 * times a lookup: a broker cashing coins spent two thirds of its envelope checks
 * climbing paths it had climbed before. A memo of a pure function: what it
 * answers never depends on what it holds. Bounded, the oldest forgotten first:
 * a batch's envelopes are checked close together, so a few batches' nodes are
 * enough (the broker's CPU per cashed coin was no higher than with 4,096).
 * The nodes it returns are shared, as a tree's paths already share them: read only.
 */
const MEMO_MAX = 256
const memo = new Map<string, Uint8Array>()

function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  // the key is the children's bytes: unambiguous only while both are 32 bytes, as every hash here is
  if (l.byteLength !== 32 || r.byteLength !== 32) return sha([NODE, l, r])
  const key = toHex(l) + toHex(r)
  let h = memo.get(key)
  if (h === undefined) {
    h = sha([NODE, l, r])
    if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value as string)
    memo.set(key, h)
  }
  return h
}

/** Depth of the tree over `n` leaves: the least d with 2^d >= n. */
export function depthFor(n: number): number {
  let d = 0
  while (1 << d < n) d++
  return d
}

/** The root of the tree over `leaves` and every leaf's path (siblings, bottom up). */
export function buildTree(leaves: Uint8Array[]): { root: Uint8Array; depth: number; paths: Uint8Array[][] } {
  const depth = depthFor(leaves.length)
  if (depth > MAX_BATCH_DEPTH) throw new RangeError(`at most 2^${MAX_BATCH_DEPTH} bodies in one batch`)
  const paths: Uint8Array[][] = leaves.map(() => [])
  let level = leaves.slice()
  while (level.length < 1 << depth) level.push(PAD)
  for (let d = 0; d < depth; d++) {
    for (let i = 0; i < leaves.length; i++) paths[i].push(level[(i >> d) ^ 1])
    const up: Uint8Array[] = []
    for (let j = 0; j < level.length; j += 2) up.push(nodeHash(level[j], level[j + 1]))
    level = up
  }
  return { root: level[0], depth, paths }
}

/** The root a leaf at `index` with `path` (siblings, bottom up) leads to. */
export function rootOf(leaf: Uint8Array, index: number, path: Uint8Array[]): Uint8Array {
  let h = leaf
  for (let d = 0; d < path.length; d++) h = ((index >> d) & 1) === 0 ? nodeHash(h, path[d]) : nodeHash(path[d], h)
  return h
}
