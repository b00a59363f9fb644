// Proofs of fraud. A holder double spend: two holder requests signed by one coin key for the same (coin, gen, seq)
// that send the coin to different places; the judge opens both group signatures to name the member. An owner double
// assignment: two bindings the owner signed for the same (coin, gen, seq) naming different holders, where they do
// not both answer requests by one key (that would be the holder's double spend): the owner's own signatures
// convict it, no opening needed. Checks here cover everything but the group signatures, which the caller verifies
// (through the worker pool) over `digests` before it acts.
import { ErrorCode, canonicalJson, decodeSigned, fail, fromB64, sha256Hex, utf8, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import { WhopayErrorCode } from '../errors.ts'
import { openBinding, openCoinCert, answeredOf, type CoinBinding, type CoinCert } from './coin.ts'
import { openHolder, type OpenedHolder } from './holder.ts'
import { HOLDER_TAGS, LIMITS, TAG, checkHolderSigned, destinationOf, type HolderSigned } from './messages.ts'

/** A holder double spend: the coin certificate (base64) and the two conflicting requests. */
export interface Evidence {
  cert: string
  a: HolderSigned
  b: HolderSigned
  /** bindings (base64) showing the signing key held the coin at that seq, when the seq is past 0 */
  bindings?: string[]
}

/**
 * An owner double assignment: the coin certificate and two owner bindings (base64) at one (coin, gen, seq); or the
 * owner's issue (seq 1) and a spend its coin key signed at seq 0 that does not pass the coin to the issued holder
 * (the owner gave the coin away and spent it too).
 */
export interface OwnerEvidence {
  cert: string
  a: string
  b?: string
  spend?: HolderSigned
}

export interface CheckedEvidence {
  /** the evidence hash: names the case */
  hash: string
  cert: CoinCert
  coin: string
  gen: number
  seq: number
  /** the coin key that signed both requests */
  holderKey: string
  requests: [OpenedHolder, OpenedHolder]
  /** the two group signatures, to verify over `digests` and to open */
  sigs: [Uint8Array, Uint8Array]
  digests: [Uint8Array, Uint8Array]
}

const EVIDENCE_DOMAIN = 'p2pay/whopay/evidence/v1'

/** sha256 of a HolderSigned's two parts: one request as sent. */
const signedHash = (s: HolderSigned): string => sha256Hex(fromB64(s.env)) + sha256Hex(fromB64(s.group))

/** The case's name: the certificate and the two requests, in either order; bindings do not change it. */
export function evidenceHash(e: Evidence): string {
  const pair = [signedHash(e.a), signedHash(e.b)].sort()
  const cert = sha256Hex(fromB64(e.cert))
  return sha256Hex(utf8(canonicalJson({ domain: EVIDENCE_DOMAIN, cert, pair })))
}

export function ownerEvidenceHash(e: OwnerEvidence): string {
  const second = e.b !== undefined ? sha256Hex(fromB64(e.b)) : e.spend !== undefined ? signedHash(e.spend) : ''
  const pair = [sha256Hex(fromB64(e.a)), second].sort()
  const cert = sha256Hex(fromB64(e.cert))
  return sha256Hex(utf8(canonicalJson({ domain: `${EVIDENCE_DOMAIN}/owner`, cert, pair })))
}

/** Whether two opened requests of one key at one (coin, gen, seq) send the coin to different places. */
export const conflicts = (x: OpenedHolder, y: OpenedHolder): boolean =>
  x.tag !== y.tag || destinationOf(x.body) !== destinationOf(y.body)

function shape(e: unknown): Evidence {
  if (e == null || typeof e !== 'object' || Array.isArray(e)) fail(ErrorCode.BAD_REQUEST, 'evidence must be an object')
  const x = e as Evidence
  for (const k of Object.keys(x))
    if (!['cert', 'a', 'b', 'bindings'].includes(k)) fail(ErrorCode.BAD_REQUEST, `evidence has no field ${k}`)
  decodeSigned(x.cert, 'evidence cert', LIMITS.certB64)
  checkHolderSigned(x.a, 'evidence a')
  checkHolderSigned(x.b, 'evidence b')
  if (x.bindings !== undefined) {
    if (!Array.isArray(x.bindings) || x.bindings.length > LIMITS.evidenceBindings)
      fail(ErrorCode.BAD_REQUEST, `evidence bindings must be a list of at most ${LIMITS.evidenceBindings}`)
    for (const b of x.bindings) decodeSigned(b, 'evidence binding', LIMITS.bindingB64)
  }
  return x
}

/**
 * Checks a holder double spend, all but the group signatures: the certificate is the broker's, both requests are
 * signed by one coin key against the bytes given, of the certificate's coin and generation, at one seq, and send
 * the coin to different places; at seq 0 the key is the coin key; each binding given is the coin's and names that
 * key as holder at that seq. Refuses with BAD_REQUEST, WRONG_BROKER, BAD_SIGNATURE, WRONG_HOLDER, WRONG_GEN,
 * NO_SUCH_COIN or NOT_CONFLICT.
 */
export function checkEvidence(
  verifier: Verifier<WhopayKind>,
  evidence: unknown,
  broker: string,
  kind: WhopayKind = 'whopay-open'
): CheckedEvidence {
  const e = shape(evidence)
  const cert = openCoinCert(verifier, e.cert, { broker }, kind)
  const a = openHolder(verifier, e.a, HOLDER_TAGS, kind)
  const b = openHolder(verifier, e.b, HOLDER_TAGS, kind)
  if (a.holder !== b.holder) fail(WhopayErrorCode.NOT_CONFLICT, 'the two requests are signed by different keys')
  for (const r of [a, b]) {
    if (r.body.coin !== cert.coin) fail(WhopayErrorCode.NO_SUCH_COIN, 'a request of another coin than the certificate')
    if (r.body.gen !== cert.gen) fail(WhopayErrorCode.WRONG_GEN, 'a request of another generation than the certificate')
  }
  if (a.body.seq !== b.body.seq) fail(WhopayErrorCode.NOT_CONFLICT, 'the two requests are at different seqs')
  if (!conflicts(a, b)) fail(WhopayErrorCode.NOT_CONFLICT, 'the two requests send the coin to the same place')
  const seq = a.body.seq
  if (seq === 0 && a.holder !== cert.coin) fail(ErrorCode.WRONG_HOLDER, 'at seq 0 the coin key holds the coin')
  for (const b64 of e.bindings ?? []) {
    const bnd = openBinding(verifier, b64, cert, kind)
    if (bnd.seq !== seq || bnd.holder !== a.holder)
      fail(ErrorCode.WRONG_HOLDER, 'an evidence binding does not name the signing key at that seq')
  }
  return {
    hash: evidenceHash(e),
    cert,
    coin: cert.coin,
    gen: cert.gen,
    seq,
    holderKey: a.holder,
    requests: [a, b],
    sigs: [a.group, b.group],
    digests: [a.digest, b.digest]
  }
}

export interface CheckedOwnerEvidence {
  hash: string
  cert: CoinCert
  /** the owner: the cheater */
  owner: string
  seq: number
  /** the two bindings, or the issue alone when the case is a seq-0 spend */
  bindings: CoinBinding[]
  /** the owner's coin-key spend at seq 0 (its group signature is the caller's to verify) */
  spend?: OpenedHolder
}

/**
 * Checks an owner double assignment: two bindings of the certificate's coin, both by its owner, at one (gen, seq),
 * naming different holders, that do not both answer requests by one key (two requests by one key would make it
 * the holder's double spend, proven by those requests: see `holderEvidenceOf`).
 */
export function checkOwnerEvidence(
  verifier: Verifier<WhopayKind>,
  evidence: unknown,
  broker: string,
  kind: WhopayKind = 'whopay-open'
): CheckedOwnerEvidence {
  if (evidence == null || typeof evidence !== 'object' || Array.isArray(evidence))
    fail(ErrorCode.BAD_REQUEST, 'owner evidence must be an object')
  const e = evidence as OwnerEvidence
  for (const k of Object.keys(e))
    if (!['cert', 'a', 'b', 'spend'].includes(k)) fail(ErrorCode.BAD_REQUEST, `owner evidence has no field ${k}`)
  if ((e.b === undefined) === (e.spend === undefined))
    fail(ErrorCode.BAD_REQUEST, 'owner evidence has a second binding or a spend, one of them')
  const cert = openCoinCert(verifier, e.cert, { broker }, kind)
  const a = openBinding(verifier, e.a, cert, kind)
  if (a.by !== 'owner') fail(ErrorCode.WRONG_SIGNER, 'owner evidence is bindings by the owner')
  if (e.spend !== undefined) {
    const spend = openHolder(verifier, e.spend, HOLDER_TAGS, kind)
    if (a.seq !== 1 || a.answered !== undefined) fail(WhopayErrorCode.NOT_CONFLICT, 'a spend conflicts with the issue')
    const q = spend.body
    if (spend.holder !== cert.coin || q.coin !== cert.coin || q.gen !== cert.gen || q.seq !== 0)
      fail(WhopayErrorCode.NOT_CONFLICT, 'the spend is not by the coin key at seq 0')
    if (spend.tag === TAG.transfer && destinationOf(q) === a.holder)
      fail(WhopayErrorCode.NOT_CONFLICT, 'the spend passes the coin to the issued holder')
    return { hash: ownerEvidenceHash(e), cert, owner: cert.owner, seq: 0, bindings: [a], spend }
  }
  const b = openBinding(verifier, e.b, cert, kind)
  if (b.by !== 'owner') fail(ErrorCode.WRONG_SIGNER, 'owner evidence is two bindings by the owner')
  if (a.seq !== b.seq) fail(WhopayErrorCode.NOT_CONFLICT, 'the two bindings are at different seqs')
  if (a.holder === b.holder) fail(WhopayErrorCode.NOT_CONFLICT, 'the two bindings name the same holder')
  if (a.answered !== undefined && b.answered !== undefined && a.answered.holder === b.answered.holder)
    fail(WhopayErrorCode.NOT_CONFLICT, "the two bindings answer one key's two requests: the holder double spent")
  return { hash: ownerEvidenceHash(e), cert, owner: cert.owner, seq: a.seq, bindings: [a, b] }
}

/**
 * Two bindings at one (coin, gen, seq) with different holders that answer requests by one key: the holder
 * evidence those requests make, or undefined when they do not (then it is the owner's, or nobody's, fault).
 */
export function holderEvidenceOf(cert: CoinCert, x: CoinBinding, y: CoinBinding): Evidence | undefined {
  const a = answeredOf(x)
  const b = answeredOf(y)
  if (a === undefined || b === undefined || x.answered === undefined || y.answered === undefined) return undefined
  if (x.answered.holder !== y.answered.holder || !conflicts(x.answered, y.answered)) return undefined
  return { cert: cert.b64, a, b }
}
