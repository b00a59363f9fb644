// The judge's rules (the survey's split of power: the judge opens, the broker names). The judge draws the opener
// part (h, u, v) and publishes it signed (`whopay/opener`), so the broker builds its group on exactly it. It opens
// only a holder double spend it checked itself: the certificate, both coin-key requests (`checkEvidence`) and both
// group signatures; each opening is a `whopay/opening` envelope by the judge, kept per case, so the same evidence
// again gets the same openings. BBS04 work goes through a GroupCrypto (the worker pool in a daemon).
import { ErrorCode, fail, fromB64, sha256Hex, toB64, type Counters, type Signer, type Verifier } from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import * as bbs from './bbs04.ts'
import { checkEvidence, type CheckedEvidence } from './evidence.ts'
import type { GroupCrypto } from './group-pool.ts'
import { openOpenerEnvelope, type OpenerEnvelope } from './group-envelopes.ts'
import { TAG, checkB64, checkOpeningBody, type OpenerBody, type OpeningBody } from './messages.ts'
import type { Table } from '@p2pay/core'

const KIND: WhopayKind = 'whopay-open'
export { OPENER_ENV_B64 } from './group-envelopes.ts'

/** The judge's opener part as a member or the broker checks it: the envelope and its points decoded. */
export interface OpenerRecord extends OpenerEnvelope {
  part: bbs.OpenerPart
}

export function signOpenerPart(judge: Signer<WhopayKind>, part: bbs.OpenerPart): OpenerRecord {
  const [h, u, v] = [part.h, part.u, part.v].map(p => toB64(p.serialize()))
  const env = judge.sign<OpenerBody>(TAG.opener, { h, u, v }, KIND)
  const partBytes = bbs.encodeOpenerPart(part)
  return { part, partBytes, judge: env.signer, hash: env.hash, b64: toB64(env.bytes) }
}

/** Opens an opener envelope: signed by `judge`, three canonical subgroup points, none repeated. */
export function openOpenerPart(verifier: Verifier<WhopayKind>, b64: unknown, judge: string): OpenerRecord {
  const envelope = openOpenerEnvelope(verifier, b64, judge)
  return { ...envelope, part: bbs.decodeOpenerPart(envelope.partBytes) }
}

/** What the judge keeps per case: the two openings, in the evidence's order (a, b). */
export interface OpeningCase {
  case: string
  coin: string
  gen: number
  seq: number
  /** base64 of the two `whopay/opening` envelopes */
  openings: [string, string]
  /** base64 of the member ids A they name */
  members: [string, string]
  at: number
}

export interface OpenerTables {
  openings: Table<OpeningCase>
}

export interface OpenerConfig {
  /** the broker whose certificates the evidence must carry */
  broker: string
  /** the group's public key (the broker's record, checked against the judge's part) */
  gpk: Uint8Array
  openerKey: Uint8Array
  crypto: GroupCrypto
  now: () => number
  /** BBS04 verifications are counted by hand (Ed25519 ones by the verifier) */
  metrics?: Counters<WhopayKind>
}

/** Makes a synchronous table change durable (a store's `apply`); in memory it just runs it. */
export type Commit = <T>(change: () => T) => Promise<T>
const inMemory: Commit = async change => change()

export class Opener {
  readonly t: OpenerTables
  private readonly judge: Signer<WhopayKind>
  private readonly verifier: Verifier<WhopayKind>
  private readonly cfg: OpenerConfig

  constructor(t: OpenerTables, judge: Signer<WhopayKind>, verifier: Verifier<WhopayKind>, cfg: OpenerConfig) {
    this.t = t
    this.judge = judge
    this.verifier = verifier
    this.cfg = cfg
  }

  /**
   * The openings of a holder double spend: refused (nothing opened, nothing kept) unless the evidence holds and both
   * group signatures verify (BAD_GROUP_SIGNATURE); the same case again, in either order, gets the kept openings.
   */
  async open(evidence: unknown, commit: Commit = inMemory): Promise<OpeningCase> {
    const checked = checkEvidence(this.verifier, evidence, this.cfg.broker, KIND)
    const kept = this.t.openings.get(checked.hash)
    if (kept !== undefined) return kept
    const { gpk, openerKey, crypto } = this.cfg
    const valid = await Promise.all(
      checked.sigs.map(async (sig, i) => await crypto.verify(gpk, checked.digests[i], sig))
    )
    for (let i = 0; i < 2; i++) this.cfg.metrics?.verified(KIND)
    if (!valid.every(Boolean))
      fail(WhopayErrorCode.BAD_GROUP_SIGNATURE, 'a group signature of the evidence does not verify: nothing opened')
    const members = await Promise.all(checked.sigs.map(async sig => await crypto.open(gpk, openerKey, sig)))
    return await commit(() => this.record(checked, members))
  }

  /** Signs and keeps the two openings; a case another call recorded meanwhile is answered as it was kept. */
  private record(checked: CheckedEvidence, members: Uint8Array[]): OpeningCase {
    const kept = this.t.openings.get(checked.hash)
    if (kept !== undefined) return kept
    const pair = checked.sigs.map((sig, i) => {
      const body: OpeningBody = { case: checked.hash, signature: sha256Hex(sig), member: toB64(members[i]) }
      return this.judge.sign<OpeningBody>(TAG.opening, body, KIND)
    })
    const c: OpeningCase = {
      case: checked.hash,
      coin: checked.coin,
      gen: checked.gen,
      seq: checked.seq,
      openings: [toB64(pair[0].bytes), toB64(pair[1].bytes)],
      members: [pair[0].body.member, pair[1].body.member],
      at: this.cfg.now()
    }
    this.t.openings.set(c.case, c)
    return c
  }
}

/** An opening as the broker checks it. */
export interface Opening extends OpeningBody {
  hash: string
  /** the envelope, base64 */
  b64: string
}

/**
 * Opens the judge's openings of a case: each signed by `judge`, naming `caseHash`, one per group signature of the
 * evidence (matched by its sha256: the judge keeps a case in the order it first saw it). Returned in the
 * evidence's order.
 */
export function openOpenings(
  verifier: Verifier<WhopayKind>,
  openings: unknown,
  judge: string,
  checked: Pick<CheckedEvidence, 'hash' | 'sigs'>
): [Opening, Opening] {
  if (!Array.isArray(openings) || openings.length !== 2) fail(ErrorCode.BAD_REQUEST, 'openings are a pair')
  const opened = openings.map(b64 => {
    const env = verifier.open<OpeningBody>(fromB64(checkB64(b64, 'opening', 1024)), TAG.opening, KIND)
    if (env.signer !== judge) fail(ErrorCode.WRONG_SIGNER, 'an opening not signed by the judge')
    const body = checkOpeningBody(env.body)
    if (body.case !== checked.hash) fail(ErrorCode.BAD_REQUEST, 'an opening of another case')
    return { ...body, hash: env.hash, b64: toB64(env.bytes) }
  })
  return checked.sigs.map(sig => {
    const o = opened.find(x => x.signature === sha256Hex(sig))
    if (o === undefined) fail(ErrorCode.BAD_REQUEST, "no opening of one of the evidence's group signatures")
    return o
  }) as [Opening, Opening]
}
