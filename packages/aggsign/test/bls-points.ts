// Points a peer could send that a careful decoder must refuse, built with
// @noble/curves' field arithmetic: on the curve but outside the prime-order
// subgroup, the point at infinity, and x coordinates off the curve.
import { bls12_381 } from '@noble/curves/bls12-381.js'

const { Fp, Fp2 } = bls12_381.fields
const P = Fp.ORDER
const be48 = (x: bigint): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(96, '0'), 'hex'))
/** compressed-form flag (the top bit of the first byte) */
const COMPRESSED = 0x80
const INFINITY = 0x40

/** The compressed encoding of infinity: 48 bytes (G1) or 96 (G2). */
export function infinity(bytes: 48 | 96): Uint8Array {
  const b = new Uint8Array(bytes)
  b[0] = COMPRESSED | INFINITY
  return b
}

/** A compressed G1 point on y^2 = x^3 + 4 found from `start` upward; with its cofactor uncleared it is almost
 * surely outside the subgroup (the cofactor is about 2^126). `onCurve: false` gives an x with no y. */
export function g1Point(start: bigint, onCurve = true): Uint8Array {
  for (let x = start; ; x++) {
    const rhs = Fp.add(Fp.pow(x, 3n), 4n)
    let square = true
    try {
      Fp.sqrt(rhs)
    } catch {
      square = false
    }
    if (square === onCurve) {
      const b = be48(x % P)
      b[0] |= COMPRESSED
      return b
    }
  }
}

/** A compressed G2 point on y^2 = x^3 + 4(1 + i), x = (start, 1), likewise outside the subgroup or off the curve. */
export function g2Point(start: bigint, onCurve = true): Uint8Array {
  for (let c0 = start; ; c0++) {
    const x = Fp2.fromBigTuple([c0, 1n])
    const rhs = Fp2.add(Fp2.pow(x, 3n), Fp2.fromBigTuple([4n, 4n]))
    let square = true
    try {
      Fp2.sqrt(rhs)
    } catch {
      square = false
    }
    if (square === onCurve) {
      // the encoding puts the imaginary part first
      const b = new Uint8Array([...be48(1n), ...be48(c0)])
      b[0] |= COMPRESSED
      return b
    }
  }
}
