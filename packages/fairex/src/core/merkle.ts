// The file id is the root of a binary hash tree over the piece hashes, so one
// piece and its sibling path can be checked against the id alone. Leaves and
// inner nodes hash under different prefixes (0x00, 0x01) so a node can never
// pass as a leaf; an odd node at a level is promoted unchanged (duplicating it,
// as Bitcoin does, lets two different piece lists share one root).
import { createHash } from 'node:crypto'
import { ErrorCode, fail } from '@p2pay/core'

export const HASH_LEN = 32
const LEAF = new Uint8Array([0x00])
const NODE = new Uint8Array([0x01])

/** sha256 of `parts` in order, one update each (never spread as arguments: a sender's framing decides how many). */
function hashOf(parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256')
  for (const p of parts) hash.update(p)
  return new Uint8Array(hash.digest())
}
const h = (...parts: Uint8Array[]): Uint8Array => hashOf(parts)

/** sha256 of a piece's bytes (whole, or the chunks it arrived in, in order): what a leaf commits to. */
export const pieceHash = (piece: Uint8Array | readonly Uint8Array[]): Uint8Array =>
  hashOf(piece instanceof Uint8Array ? [piece] : piece)

export function leafHash(hash: Uint8Array): Uint8Array {
  if (!(hash instanceof Uint8Array) || hash.byteLength !== HASH_LEN)
    fail(ErrorCode.BAD_REQUEST, 'a piece hash is 32 bytes')
  return h(LEAF, hash)
}

export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => h(NODE, left, right)

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let d = 0
  for (let i = 0; i < a.byteLength; i++) d |= a[i] ^ b[i]
  return d === 0
}

function up(level: Uint8Array[]): Uint8Array[] {
  const next: Uint8Array[] = []
  for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]))
  if (level.length % 2 === 1) next.push(level[level.length - 1])
  return next
}

function leafLevel(pieceHashes: Uint8Array[]): Uint8Array[] {
  // a tree of nothing has no root: an empty file is not for sale
  if (!Array.isArray(pieceHashes) || pieceHashes.length === 0)
    fail(ErrorCode.BAD_REQUEST, 'a file has at least one piece')
  return pieceHashes.map(leafHash)
}

/** Root over the piece hashes (sha256 of each piece), in piece order. */
export function merkleRoot(pieceHashes: Uint8Array[]): Uint8Array {
  let level = leafLevel(pieceHashes)
  while (level.length > 1) level = up(level)
  return level[0]
}

/** Sibling path of piece `index`, bottom up; levels where the node is promoted contribute nothing. */
export function merkleProof(pieceHashes: Uint8Array[], index: number): Uint8Array[] {
  let level = leafLevel(pieceHashes)
  if (!Number.isSafeInteger(index) || index < 0 || index >= level.length)
    fail(ErrorCode.BAD_REQUEST, `piece ${index} out of range 0..${level.length - 1}`)
  const path: Uint8Array[] = []
  let i = index
  while (level.length > 1) {
    const sibling = i ^ 1
    if (sibling < level.length) path.push(level[sibling])
    level = up(level)
    i >>= 1
  }
  return path
}

/**
 * Whether a piece hash sits at `index` of a `count`-piece file with root
 * `fileId`. The tree shape comes from `count`, and the path must have exactly
 * the length that shape asks for. The root alone does not bind the count (the
 * last piece of 3 also passes as piece 1 of 2), so `count` must be the signed
 * manifest's pieceCount, never a peer's claim. Never throws.
 */
export function verifyPieceHash(
  fileId: Uint8Array,
  index: number,
  count: number,
  hash: Uint8Array,
  path: Uint8Array[]
): boolean {
  if (!(fileId instanceof Uint8Array) || fileId.byteLength !== HASH_LEN) return false
  if (!(hash instanceof Uint8Array) || hash.byteLength !== HASH_LEN || !Array.isArray(path)) return false
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count)
    return false
  let node = h(LEAF, hash)
  let i = index
  let width = count
  let k = 0
  while (width > 1) {
    if ((i ^ 1) < width) {
      const s = path[k++]
      if (!(s instanceof Uint8Array) || s.byteLength !== HASH_LEN) return false
      node = (i & 1) === 1 ? nodeHash(s, node) : nodeHash(node, s)
    }
    i = Math.floor(i / 2)
    width = Math.ceil(width / 2)
  }
  return k === path.length && bytesEqual(node, fileId)
}

/** Hashes the piece itself and checks it against the file id. */
export function verifyPiece(
  fileId: Uint8Array,
  index: number,
  count: number,
  piece: Uint8Array,
  path: Uint8Array[]
): boolean {
  if (!(piece instanceof Uint8Array)) return false
  return verifyPieceHash(fileId, index, count, pieceHash(piece), path)
}

/**
 * The same root as merkleRoot, built from piece hashes one at a time with
 * O(log n) state: a stack of perfect subtrees, one per set bit of the count.
 * Folding them from the right gives the promote-the-odd-node tree.
 */
export class MerkleBuilder {
  private readonly stack: Array<{ height: number; hash: Uint8Array }> = []
  private n = 0

  get count(): number {
    return this.n
  }

  add(hash: Uint8Array): void {
    let node = { height: 0, hash: leafHash(hash) }
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].height === node.height) {
      const left = this.stack.pop()!
      node = { height: node.height + 1, hash: nodeHash(left.hash, node.hash) }
    }
    this.stack.push(node)
    this.n++
  }

  root(): Uint8Array {
    if (this.stack.length === 0) fail(ErrorCode.BAD_REQUEST, 'a file has at least one piece')
    let acc = this.stack[this.stack.length - 1].hash
    for (let i = this.stack.length - 2; i >= 0; i--) acc = nodeHash(this.stack[i].hash, acc)
    return acc
  }
}
