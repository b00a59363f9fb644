// merkle.ts: roots and proofs for every small count and index, every way to
// tamper with a proof, and the streaming builder against the batch root.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { ErrorCode } from '@p2pay/core'
import {
  MerkleBuilder,
  leafHash,
  merkleProof,
  merkleRoot,
  nodeHash,
  pieceHash,
  verifyPiece,
  verifyPieceHash
} from '../src/core/merkle.ts'

const sha = (...parts: number[][]): Uint8Array =>
  new Uint8Array(createHash('sha256').update(Buffer.from(parts.flat())).digest())
const pieces = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => new Uint8Array(Buffer.from(`piece ${i} `.repeat(i + 1))))
const hashesOf = (ps: Uint8Array[]): Uint8Array[] => ps.map(pieceHash)
const flipped = (b: Uint8Array, at = 0): Uint8Array => {
  const c = b.slice()
  c[at] ^= 0x01
  return c
}
const badRequest = { name: 'P2payError', code: ErrorCode.BAD_REQUEST }

describe('merkleRoot', () => {
  it('hashes leaves and nodes under their own prefixes and promotes an odd node', () => {
    const ps = pieces(3)
    const L = ps.map(p => sha([0], [...sha([...p])]))
    const N01 = sha([1], [...L[0]], [...L[1]])
    assert.deepEqual(merkleRoot(hashesOf(ps.slice(0, 1))), L[0])
    assert.deepEqual(merkleRoot(hashesOf(ps.slice(0, 2))), N01)
    assert.deepEqual(merkleRoot(hashesOf(ps)), sha([1], [...N01], [...L[2]]))
    assert.deepEqual(leafHash(pieceHash(ps[0])), L[0])
    assert.deepEqual(nodeHash(L[0], L[1]), N01)
  })

  it('gives a different root for every prefix of a piece list, and for a duplicated last piece', () => {
    const hs = hashesOf(pieces(17))
    const roots = new Set(hs.map((_, i) => Buffer.from(merkleRoot(hs.slice(0, i + 1))).toString('hex')))
    assert.equal(roots.size, 17)
    const three = hs.slice(0, 3)
    assert.notDeepEqual(merkleRoot(three), merkleRoot([...three, three[2]]))
  })

  it('rejects an empty list and malformed hashes', () => {
    assert.throws(() => merkleRoot([]), badRequest)
    assert.throws(() => merkleRoot([new Uint8Array(31)]), badRequest)
    assert.throws(() => merkleProof([new Uint8Array(32)], 1), badRequest)
    assert.throws(() => merkleProof([new Uint8Array(32)], -1), badRequest)
  })
})

describe('proofs', () => {
  it('verify for counts 1..17 at every index, with the path length the tree shape asks for', () => {
    for (let n = 1; n <= 17; n++) {
      const ps = pieces(n)
      const hs = hashesOf(ps)
      const root = merkleRoot(hs)
      for (let i = 0; i < n; i++) {
        const path = merkleProof(hs, i)
        // one sibling per level where the node is not the promoted odd one
        let want = 0
        for (let w = n, j = i; w > 1; w = Math.ceil(w / 2), j >>= 1) if ((j ^ 1) < w) want++
        assert.equal(path.length, want, `n=${n} i=${i}`)
        assert.ok(path.length <= Math.ceil(Math.log2(n)))
        assert.equal(verifyPiece(root, i, n, ps[i], path), true, `n=${n} i=${i}`)
        assert.equal(verifyPieceHash(root, i, n, hs[i], path), true)
      }
    }
  })

  it('reject a tampered piece, path, index, count or file id', () => {
    for (let n = 1; n <= 17; n++) {
      const ps = pieces(n)
      const hs = hashesOf(ps)
      const root = merkleRoot(hs)
      for (let i = 0; i < n; i++) {
        const path = merkleProof(hs, i)
        const ok = (piece = ps[i], p = path, index = i, count = n, id = root): boolean =>
          verifyPiece(id, index, count, piece, p)
        assert.equal(ok(flipped(ps[i])), false, 'flipped piece byte')
        assert.equal(ok(ps[i].subarray(1)), false, 'truncated piece')
        assert.equal(ok(ps[(i + 1) % n === i ? i : (i + 1) % n]), n === 1, 'another piece')
        assert.equal(ok(undefined, undefined, undefined, undefined, flipped(root, 31)), false, 'other file id')
        for (let k = 0; k < path.length; k++) {
          assert.equal(
            ok(
              ps[i],
              path.map((s, j) => (j === k ? flipped(s, 5) : s))
            ),
            false,
            `flipped path[${k}]`
          )
          assert.equal(
            ok(
              ps[i],
              path.filter((_, j) => j !== k)
            ),
            false,
            `dropped path[${k}]`
          )
        }
        assert.equal(ok(ps[i], [...path, root]), false, 'extra path element')
        assert.equal(
          ok(ps[i], [...path].reverse()),
          path.length < 2 || path[0] === path[path.length - 1],
          'reordered path'
        )
        for (let j = 0; j < n; j++) if (j !== i) assert.equal(ok(ps[i], path, j), false, `index ${j} for piece ${i}`)
        for (const c of [0, 2 * n + 2]) assert.equal(ok(ps[i], path, i, c), false, `count ${c} for ${n}`)
        for (const bad of [-1, n, 0.5, NaN]) assert.equal(ok(ps[i], path, bad), false, `index ${bad}`)
      }
    }
  })

  it('binds a position only together with the count: the count must come from the signed manifest', () => {
    // piece 2 of a 3-piece file is promoted to depth 1, where it looks like piece 1 of a 2-piece file
    const ps = pieces(3)
    const hs = hashesOf(ps)
    const root = merkleRoot(hs)
    const path = merkleProof(hs, 2)
    assert.equal(verifyPiece(root, 2, 3, ps[2], path), true)
    assert.equal(verifyPiece(root, 1, 2, ps[2], path), true)
    // with the count fixed, no other piece passes at that index
    for (const j of [0, 1]) assert.equal(verifyPiece(root, 2, 3, ps[j], merkleProof(hs, j)), false)
  })

  it('never throws on malformed input', () => {
    const hs = hashesOf(pieces(4))
    const root = merkleRoot(hs)
    const path = merkleProof(hs, 1)
    assert.equal(verifyPiece(root, 1, 4, pieces(4)[1], path), true)
    assert.equal(verifyPiece(root.subarray(1), 1, 4, pieces(4)[1], path), false)
    assert.equal(verifyPiece(root, 1, 4, pieces(4)[1], null as unknown as Uint8Array[]), false)
    assert.equal(verifyPiece(root, 1, 4, pieces(4)[1], [path[0], 'x' as unknown as Uint8Array]), false)
    assert.equal(verifyPiece(root, 1, 4, pieces(4)[1], [path[0], path[1].subarray(1)]), false)
    assert.equal(verifyPiece(root, 1, 4, 'piece' as unknown as Uint8Array, path), false)
    assert.equal(verifyPieceHash(root, 1, 4, hs[1].subarray(0, 31), path), false)
  })
})

describe('MerkleBuilder', () => {
  it('equals the batch root for 1..130 pieces, at every prefix', () => {
    const hs = hashesOf(pieces(130))
    const b = new MerkleBuilder()
    for (let n = 1; n <= hs.length; n++) {
      b.add(hs[n - 1])
      assert.equal(b.count, n)
      assert.deepEqual(b.root(), merkleRoot(hs.slice(0, n)), `n=${n}`)
    }
  })

  it('keeps one subtree per set bit of the count: O(log n) state', () => {
    const b = new MerkleBuilder()
    const h = pieceHash(new Uint8Array([1]))
    const stack = (b as unknown as { stack: unknown[] }).stack
    for (let n = 1; n <= 5000; n++) {
      b.add(h)
      const bits = n
        .toString(2)
        .split('')
        .filter(c => c === '1').length
      assert.equal(stack.length, bits)
    }
    assert.ok(stack.length <= Math.log2(5000) + 1)
  })

  it('rejects a root of nothing and a malformed hash', () => {
    assert.throws(() => new MerkleBuilder().root(), badRequest)
    assert.throws(() => new MerkleBuilder().add(new Uint8Array(33)), badRequest)
  })
})
