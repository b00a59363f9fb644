// BBS04 short group signatures (Boneh, Boyen, Shacham, "Short Group Signatures", CRYPTO 2004, section 4, with the
// Fiat-Shamir hash) on BLS12-381 over mcl-wasm. The only file that touches mcl-wasm.
//
// gpk = (g1, g2, h, u, v, w = g2^gamma), u^xi1 = v^xi2 = h; the issuer holds gamma, the opener (xi1, xi2); a member
// holds (A, x) with A^(x + gamma) = g1. A signature (T1, T2, T3, c, s_alpha, s_beta, s_x, s_delta1, s_delta2) proves
// knowledge of such an (A, x) under a linear encryption of A that the opener alone decrypts. The challenge also
// hashes gpk, so a signature is bound to its group. mcl calls are synchronous: ~10 ms of a sign blocks the caller.
import { createHash, randomBytes } from 'node:crypto'
import mcl from 'mcl-wasm'
import type { Fr, G1, G2, GT } from 'mcl-wasm'
// core's errors and bytes alone, not its index: a worker thread that loads this file then skips libp2p (~1 s)
import { ErrorCode, fail } from '@p2pay/core/errors'
import { concat, toB64, utf8 } from '@p2pay/core/bytes'
import {
  BBS04_DOMAIN,
  Bbs04ErrorCode,
  G1_BYTES,
  G2_BYTES,
  GPK_BYTES,
  ISSUER_KEY_BYTES,
  MEMBER_KEY_BYTES,
  OPENER_KEY_BYTES,
  OPENER_PART_BYTES,
  SCALAR_BYTES,
  SIGNATURE_BYTES
} from './bbs04-params.ts'

export * from './bbs04-params.ts'

// one curve per process; deserialised points get the subgroup check; compressed points as noble and the IETF draft
if (mcl.curveType !== mcl.BLS12_381) await mcl.init(mcl.BLS12_381)
mcl.setETHserialization(true)
mcl.verifyOrderG1(true)
mcl.verifyOrderG2(true)

/** Where scalars come from: n uniformly random bytes (node:crypto's CSPRNG; a fixed stream for known answers). */
export type RandomSource = (n: number) => Uint8Array

export interface GroupPublicKey {
  g1: G1
  g2: G2
  h: G1
  u: G1
  v: G1
  w: G2
}
export interface IssuerKey {
  gamma: Fr
}
export interface OpenerKey {
  xi1: Fr
  xi2: Fr
}
export interface MemberKey {
  a: G1
  x: Fr
}
export interface GroupSignature {
  t1: G1
  t2: G1
  t3: G1
  c: Fr
  sAlpha: Fr
  sBeta: Fr
  sX: Fr
  sDelta1: Fr
  sDelta2: Fr
}

const G1_GEN =
  '1 0x17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb ' +
  '0x08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1'
const G2_GEN =
  '1 0x24aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8 ' +
  '0x13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e ' +
  '0x0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801 ' +
  '0x0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be'

/** The standard generators of G1 and G2 (those of the IETF BLS draft and @noble/curves). */
export function generators(): { g1: G1; g2: G2 } {
  const g1 = new mcl.G1()
  g1.setStr(G1_GEN, 16)
  const g2 = new mcl.G2()
  g2.setStr(G2_GEN, 16)
  if (!g1.isValidOrder() || !g2.isValidOrder()) throw new Error('BLS12-381 generators off their subgroups')
  return { g1, g2 }
}

/** A uniform scalar: 64 random bytes reduced mod r (bias below 2^-256). */
function scalar(random: RandomSource): Fr {
  const f = new mcl.Fr()
  f.setBigEndianMod(random(64))
  return f
}

/** A uniform non-zero scalar, for secrets and exponents that must be invertible. */
function nonZeroScalar(random: RandomSource): Fr {
  for (let i = 0; i < 8; i++) {
    const f = scalar(random)
    if (!f.isZero()) return f
  }
  throw new Error('the random source gives only zero scalars')
}

/** The judge's half of a group's public key: h and u, v with u^xi1 = v^xi2 = h. Published by the opener. */
export interface OpenerPart {
  h: G1
  u: G1
  v: G1
}

/**
 * The opener's half of a split setup: it draws h and (xi1, xi2) itself, so the issuer never learns the opener key
 * and cannot swap in an opener part of its own (the opener signs the part it publishes).
 */
export function openerSetup(random: RandomSource = randomBytes): { part: OpenerPart; openerKey: OpenerKey } {
  const { g1 } = generators()
  const h = mcl.mul(g1, nonZeroScalar(random))
  const xi1 = nonZeroScalar(random)
  const xi2 = nonZeroScalar(random)
  return { part: { h, u: mcl.mul(h, mcl.inv(xi1)), v: mcl.mul(h, mcl.inv(xi2)) }, openerKey: { xi1, xi2 } }
}

/**
 * The issuer's half: gamma and w = g2^gamma on the opener's part. BAD_REQUEST if a point of the part is at
 * infinity, outside the subgroup or repeated (decodeOpenerPart checks the same on bytes).
 */
export function issuerSetup(
  part: OpenerPart,
  random: RandomSource = randomBytes
): { gpk: GroupPublicKey; issuerKey: IssuerKey } {
  checkOpenerPart(part)
  const { g1, g2 } = generators()
  const gamma = nonZeroScalar(random)
  return { gpk: { g1, g2, h: part.h, u: part.u, v: part.v, w: mcl.mul(g2, gamma) }, issuerKey: { gamma } }
}

function checkOpenerPart(part: OpenerPart): void {
  const { g1 } = generators()
  const points = [part.h, part.u, part.v]
  for (const p of points)
    if (!(p instanceof mcl.G1) || p.isZero() || !p.isValidOrder() || p.isEqual(g1))
      fail(ErrorCode.BAD_REQUEST, 'an opener part point is infinity, outside the subgroup or g1')
  if (part.h.isEqual(part.u) || part.h.isEqual(part.v) || part.u.isEqual(part.v))
    fail(ErrorCode.BAD_REQUEST, 'an opener part repeats a point')
}

/** The opener part a group public key was built on: what a member compares with the opener's signed part. */
export const openerPartOf = (gpk: GroupPublicKey): OpenerPart => ({ h: gpk.h, u: gpk.u, v: gpk.v })

/** Whether `openerKey` opens signatures of groups built on `part` (u^xi1 = v^xi2 = h). */
export const isOpenerKeyOf = (part: OpenerPart, openerKey: OpenerKey): boolean =>
  mcl.mul(part.u, openerKey.xi1).isEqual(part.h) && mcl.mul(part.v, openerKey.xi2).isEqual(part.h)

/**
 * BAD_REQUEST unless `gpk` is on the standard generators and carries exactly the opener part `partBytes` (h | u | v),
 * whose points are checked as decodeOpenerPart checks them: what a member asks of a group before it trusts it.
 */
export function checkGroupOnPart(gpk: GroupPublicKey, partBytes: Uint8Array): void {
  decodeOpenerPart(partBytes)
  const { g1, g2 } = generators()
  if (!gpk.g1.isEqual(g1) || !gpk.g2.isEqual(g2)) fail(ErrorCode.BAD_REQUEST, 'a group on other generators')
  if (!same(encodeOpenerPart(openerPartOf(gpk)), partBytes))
    fail(ErrorCode.BAD_REQUEST, "the group's (h, u, v) are not the judge's opener part")
}

/** A fresh group in one place (tests, benchmarks): the opener's and the issuer's halves, drawn in that order. */
export function setup(random: RandomSource = randomBytes): {
  gpk: GroupPublicKey
  issuerKey: IssuerKey
  openerKey: OpenerKey
} {
  const { part, openerKey } = openerSetup(random)
  const { gpk, issuerKey } = issuerSetup(part, random)
  return { gpk, issuerKey, openerKey }
}

/** A new member key: random x, A = g1^(1/(x + gamma)). BAD_REQUEST if the issuer key is not this group's. */
export function issue(gpk: GroupPublicKey, issuerKey: IssuerKey, random: RandomSource = randomBytes): MemberKey {
  if (!mcl.mul(gpk.g2, issuerKey.gamma).isEqual(gpk.w)) fail(ErrorCode.BAD_REQUEST, "not this group's issuer key")
  for (let i = 0; i < 8; i++) {
    const x = nonZeroScalar(random)
    const e = mcl.add(x, issuerKey.gamma)
    if (!e.isZero()) return { a: mcl.mul(gpk.g1, mcl.inv(e)), x }
  }
  throw new Error('the random source gives only x = -gamma')
}

/** Whether e(A, w g2^x) = e(g1, g2): what a member checks of the key it was issued. */
export function checkMemberKey(gpk: GroupPublicKey, key: MemberKey): boolean {
  const lhs = mcl.millerLoop(key.a, mcl.add(gpk.w, mcl.mul(gpk.g2, key.x)))
  return mcl.finalExp(mcl.mul(lhs, mcl.millerLoop(mcl.neg(gpk.g1), gpk.g2))).isOne()
}

/** e(p1, g2) e(p2, w): R3 of signing and verifying, as one product of two Miller loops and one final exponentiation. */
const pairing2 = (gpk: GroupPublicKey, p1: G1, p2: G1): GT =>
  mcl.finalExp(mcl.mul(mcl.millerLoop(p1, gpk.g2), mcl.millerLoop(p2, gpk.w)))

const gpkBytes = new WeakMap<GroupPublicKey, Uint8Array>()

/** c = H(domain, gpk, T1, T2, T3, R1..R5, |M|, M) mod r. */
function challenge(gpk: GroupPublicKey, msg: Uint8Array, t: G1[], r: [G1, G1, GT, G1, G1]) {
  let g = gpkBytes.get(gpk)
  if (g == null) gpkBytes.set(gpk, (g = encodeGroupPublicKey(gpk)))
  const len = new Uint8Array(8)
  new DataView(len.buffer).setBigUint64(0, BigInt(msg.byteLength))
  const hash = createHash('sha512').update(utf8(BBS04_DOMAIN)).update(g)
  for (const p of [...t, ...r]) hash.update(p.serialize())
  const c = new mcl.Fr()
  c.setBigEndianMod(hash.update(len).update(msg).digest())
  return c
}

/** A group signature of `msg` by `key`; `random` is there for known-answer tests. */
export function sign(
  gpk: GroupPublicKey,
  key: MemberKey,
  msg: Uint8Array,
  random: RandomSource = randomBytes
): GroupSignature {
  const [alpha, beta] = [scalar(random), scalar(random)]
  const t1 = mcl.mul(gpk.u, alpha)
  const t2 = mcl.mul(gpk.v, beta)
  const t3 = mcl.add(key.a, mcl.mul(gpk.h, mcl.add(alpha, beta)))
  const delta1 = mcl.mul(key.x, alpha)
  const delta2 = mcl.mul(key.x, beta)
  const [rAlpha, rBeta, rX, rDelta1, rDelta2] = Array.from({ length: 5 }, () => scalar(random))
  const r1 = mcl.mul(gpk.u, rAlpha)
  const r2 = mcl.mul(gpk.v, rBeta)
  // R3 = e(T3, g2)^rX e(h, w)^(-rAlpha - rBeta) e(h, g2)^(-rDelta1 - rDelta2)
  const r3 = pairing2(
    gpk,
    mcl.mulVec([t3, gpk.h], [rX, mcl.neg(mcl.add(rDelta1, rDelta2))]),
    mcl.mul(gpk.h, mcl.neg(mcl.add(rAlpha, rBeta)))
  )
  const r4 = mcl.mulVec([t1, gpk.u], [rX, mcl.neg(rDelta1)])
  const r5 = mcl.mulVec([t2, gpk.v], [rX, mcl.neg(rDelta2)])
  const c = challenge(gpk, msg, [t1, t2, t3], [r1, r2, r3, r4, r5])
  const s = (r: Fr, secret: Fr): Fr => mcl.add(r, mcl.mul(c, secret))
  return {
    t1,
    t2,
    t3,
    c,
    sAlpha: s(rAlpha, alpha),
    sBeta: s(rBeta, beta),
    sX: s(rX, key.x),
    sDelta1: s(rDelta1, delta1),
    sDelta2: s(rDelta2, delta2)
  }
}

const asSignature = (sig: GroupSignature | Uint8Array): GroupSignature =>
  sig instanceof Uint8Array ? decodeSignature(sig) : sig

/** Whether `sig` is a signature of `msg` by some member of the group. Malformed bytes are BAD_REQUEST. */
export function verify(gpk: GroupPublicKey, msg: Uint8Array, signature: GroupSignature | Uint8Array): boolean {
  const sig = asSignature(signature)
  const { t1, t2, t3, c } = sig
  const minusC = mcl.neg(c)
  const r1 = mcl.mulVec([gpk.u, t1], [sig.sAlpha, minusC])
  const r2 = mcl.mulVec([gpk.v, t2], [sig.sBeta, minusC])
  // R3 = e(T3, g2)^sX e(h, w)^(-sAlpha - sBeta) e(h, g2)^(-sDelta1 - sDelta2) (e(T3, w) / e(g1, g2))^c
  const r3 = pairing2(
    gpk,
    mcl.mulVec([t3, gpk.h, gpk.g1], [sig.sX, mcl.neg(mcl.add(sig.sDelta1, sig.sDelta2)), minusC]),
    mcl.mulVec([t3, gpk.h], [c, mcl.neg(mcl.add(sig.sAlpha, sig.sBeta))])
  )
  const r4 = mcl.mulVec([t1, gpk.u], [sig.sX, mcl.neg(sig.sDelta1)])
  const r5 = mcl.mulVec([t2, gpk.v], [sig.sX, mcl.neg(sig.sDelta2)])
  return challenge(gpk, msg, [t1, t2, t3], [r1, r2, r3, r4, r5]).isEqual(c)
}

const openerChecked = new WeakMap<OpenerKey, GroupPublicKey>()

/**
 * The signer's A (compressed, the registry's key): T3 / (T1^xi1 T2^xi2). Only meaningful for a signature that
 * verifies: the caller verifies first (verifyMember does both). BAD_REQUEST if the opener key is not this group's.
 */
export function open(gpk: GroupPublicKey, openerKey: OpenerKey, signature: GroupSignature | Uint8Array): Uint8Array {
  if (openerChecked.get(openerKey) !== gpk) {
    if (!isOpenerKeyOf(gpk, openerKey)) fail(ErrorCode.BAD_REQUEST, "not this group's opener key")
    openerChecked.set(openerKey, gpk)
  }
  const sig = asSignature(signature)
  return mcl.sub(sig.t3, mcl.mulVec([sig.t1, sig.t2], [openerKey.xi1, openerKey.xi2])).serialize()
}

/** The compressed A of a member key: what the registry files it under. */
export const memberId = (key: MemberKey): Uint8Array => key.a.serialize()

/** Who holds each member key (by its compressed A), and which keys are revoked; a daemon backs it with its store. */
export interface MemberLookup {
  holderOf(a: Uint8Array): string | undefined
  isRevoked(a: Uint8Array): boolean
}

/** An in-memory registry: member keys by A, and the list of revoked A's. */
export class MemberRegistry implements MemberLookup {
  private readonly holders = new Map<string, string>()
  private readonly revokedKeys = new Map<string, Uint8Array>()
  register(a: Uint8Array, holder: string): void {
    decodeG1(a, 'a member key')
    this.holders.set(toB64(a), holder)
  }
  revoke(a: Uint8Array): void {
    this.revokedKeys.set(toB64(a), Uint8Array.from(a))
  }
  holderOf(a: Uint8Array): string | undefined {
    return this.holders.get(toB64(a))
  }
  isRevoked(a: Uint8Array): boolean {
    return this.revokedKeys.has(toB64(a))
  }
  /** The revoked A's, for a verifier that keeps only the revocation list. */
  revoked(): Uint8Array[] {
    return [...this.revokedKeys.values()]
  }
}

/**
 * Verifies, opens, and names the signer: BAD_SIGNATURE if `sig` does not verify, UNKNOWN_MEMBER if its key is not
 * registered, REVOKED_MEMBER if it was revoked. For the party that holds both the opener key and the registry.
 */
export function verifyMember(
  gpk: GroupPublicKey,
  openerKey: OpenerKey,
  registry: MemberLookup,
  msg: Uint8Array,
  signature: GroupSignature | Uint8Array
): { a: Uint8Array; holder: string } {
  const sig = asSignature(signature)
  if (!verify(gpk, msg, sig)) fail(ErrorCode.BAD_SIGNATURE, 'not a group signature of this message')
  const a = open(gpk, openerKey, sig)
  const holder = registry.holderOf(a)
  if (holder == null) fail(Bbs04ErrorCode.UNKNOWN_MEMBER, 'signed by a key not in the registry')
  if (registry.isRevoked(a)) fail(Bbs04ErrorCode.REVOKED_MEMBER, 'signed by a revoked member key')
  return { a, holder }
}

// Serialisation: fixed-length concatenations of compressed points and 32-byte big-endian scalars. Decoding refuses
// a wrong length, a point off the curve, outside its subgroup, at infinity or not canonically encoded, and a scalar
// not below r; secrets must also be non-zero.

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

function decodeG1(bytes: Uint8Array, what: string): G1 {
  const p = new mcl.G1()
  try {
    p.deserialize(bytes)
  } catch {
    fail(ErrorCode.BAD_REQUEST, `${what} is not a G1 point in the subgroup`)
  }
  if (p.isZero() || !same(p.serialize(), bytes)) fail(ErrorCode.BAD_REQUEST, `${what} is infinity or not canonical`)
  return p
}

function decodeG2(bytes: Uint8Array, what: string): G2 {
  const p = new mcl.G2()
  try {
    p.deserialize(bytes)
  } catch {
    fail(ErrorCode.BAD_REQUEST, `${what} is not a G2 point in the subgroup`)
  }
  if (p.isZero() || !same(p.serialize(), bytes)) fail(ErrorCode.BAD_REQUEST, `${what} is infinity or not canonical`)
  return p
}

function decodeFr(bytes: Uint8Array, what: string, secret = false): Fr {
  const f = new mcl.Fr()
  try {
    f.deserialize(bytes)
  } catch {
    fail(ErrorCode.BAD_REQUEST, `${what} is not a scalar below r`)
  }
  if (!same(f.serialize(), bytes)) fail(ErrorCode.BAD_REQUEST, `${what} is not canonical`)
  if (secret && f.isZero()) fail(ErrorCode.BAD_REQUEST, `${what} is zero`)
  return f
}

/** Reads fixed-size fields off bytes that must be exactly `size` long. */
function reader(bytes: Uint8Array, size: number, what: string) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== size)
    fail(ErrorCode.BAD_REQUEST, `${what} is ${size} bytes`)
  let at = 0
  const take = (n: number): Uint8Array => bytes.subarray(at, (at += n))
  return {
    g1: (field: string) => decodeG1(take(G1_BYTES), `${what}: ${field}`),
    g2: (field: string) => decodeG2(take(G2_BYTES), `${what}: ${field}`),
    fr: (field: string, secret = false) => decodeFr(take(SCALAR_BYTES), `${what}: ${field}`, secret)
  }
}

export const encodeGroupPublicKey = (k: GroupPublicKey): Uint8Array =>
  concat([k.g1, k.g2, k.h, k.u, k.v, k.w].map(p => p.serialize()))

export function decodeGroupPublicKey(bytes: Uint8Array): GroupPublicKey {
  const r = reader(bytes, GPK_BYTES, 'a group public key')
  return { g1: r.g1('g1'), g2: r.g2('g2'), h: r.g1('h'), u: r.g1('u'), v: r.g1('v'), w: r.g2('w') }
}

export const encodeOpenerPart = (p: OpenerPart): Uint8Array => concat([p.h, p.u, p.v].map(q => q.serialize()))

export function decodeOpenerPart(bytes: Uint8Array): OpenerPart {
  const r = reader(bytes, OPENER_PART_BYTES, 'an opener part')
  const part = { h: r.g1('h'), u: r.g1('u'), v: r.g1('v') }
  checkOpenerPart(part)
  return part
}

export const encodeIssuerKey = (k: IssuerKey): Uint8Array => k.gamma.serialize()

export function decodeIssuerKey(bytes: Uint8Array): IssuerKey {
  return { gamma: reader(bytes, ISSUER_KEY_BYTES, 'an issuer key').fr('gamma', true) }
}

export const encodeOpenerKey = (k: OpenerKey): Uint8Array => concat([k.xi1.serialize(), k.xi2.serialize()])

export function decodeOpenerKey(bytes: Uint8Array): OpenerKey {
  const r = reader(bytes, OPENER_KEY_BYTES, 'an opener key')
  return { xi1: r.fr('xi1', true), xi2: r.fr('xi2', true) }
}

export const encodeMemberKey = (k: MemberKey): Uint8Array => concat([k.a.serialize(), k.x.serialize()])

export function decodeMemberKey(bytes: Uint8Array): MemberKey {
  const r = reader(bytes, MEMBER_KEY_BYTES, 'a member key')
  return { a: r.g1('A'), x: r.fr('x', true) }
}

export const encodeSignature = (s: GroupSignature): Uint8Array =>
  concat([s.t1, s.t2, s.t3, s.c, s.sAlpha, s.sBeta, s.sX, s.sDelta1, s.sDelta2].map(p => p.serialize()))

export function decodeSignature(bytes: Uint8Array): GroupSignature {
  const r = reader(bytes, SIGNATURE_BYTES, 'a group signature')
  return {
    t1: r.g1('T1'),
    t2: r.g1('T2'),
    t3: r.g1('T3'),
    c: r.fr('c'),
    sAlpha: r.fr('s_alpha'),
    sBeta: r.fr('s_beta'),
    sX: r.fr('s_x'),
    sDelta1: r.fr('s_delta1'),
    sDelta2: r.fr('s_delta2')
  }
}
