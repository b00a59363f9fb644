// The judge's rulings and signed records (judgment.ts judges): what a complaint
// holds, the verdict and ban bodies, the judge's rows and their checks, and how
// the peers and the AC that receive a verdict or a ban record open it.
import {
  ErrorCode,
  exactKeys,
  fail,
  isHash,
  isTimestamp,
  isToken,
  type Opened,
  type Table,
  type Verifier
} from '@p2pay/core'
import type { FairexKind } from '../kinds.ts'
import { checkPeer, decodeEnvelope } from './messages.ts'

export const JUDGMENT_TAG = {
  verdict: 'p2pay/fairex/verdict/v1',
  ban: 'p2pay/fairex/ban/v1'
} as const

export type Ruling = 'providerBan' | 'invalidComplain'
export type VerdictReason =
  | 'otherRequest'
  | 'otherZ'
  | 'otherSek'
  | 'otherManifest'
  | 'otherPieceList'
  | 'keyOpensPiece'
  | 'chequeContradictsRequest'
  | 'badManifest'
  | 'noJudgeKey'
  | 'wrongKey'

export const RULING_OF: Record<VerdictReason, Ruling> = {
  otherRequest: 'invalidComplain',
  otherZ: 'invalidComplain',
  otherSek: 'invalidComplain',
  otherManifest: 'invalidComplain',
  otherPieceList: 'invalidComplain',
  keyOpensPiece: 'invalidComplain',
  chequeContradictsRequest: 'providerBan',
  badManifest: 'providerBan',
  noJudgeKey: 'providerBan',
  wrongKey: 'providerBan'
}

/** COMP as D sends it: envelopes and byte strings base64, piece hashes hex in piece order. */
export interface Complaint {
  cheque: string
  accept: string
  z: string
  request: string
  /** SEK(KP) */
  sek: string
  /** P's manifest envelope */
  manifest: string
  pieceHashes: string[]
  /** D's capital certificate, the one C* names: the judge keeps it with the cheque, for P's deposit */
  certificate: string
}

export interface VerdictBody {
  judge: string
  /** hash of P's cheque envelope */
  cheque: string
  provider: string
  downloader: string
  chequeSn: string
  ruling: Ruling
  reason: VerdictReason
  /** hex K, when the key is right: D can still finish its download */
  key?: string
  at: number
}

export interface BanBody {
  judge: string
  peer: string
  verdict: string
  from: number
  until: number
}

export interface VerdictRecord {
  hash: string
  /** base64 envelope */
  verdict: string
  body: VerdictBody
  /** hash of the ban record a providerBan created */
  ban?: string
  /** keyOpensPiece: when P fetched the countersigned cheque kept for it */
  delivered?: number
}

/**
 * A countersigned cheque the judge keeps for its provider when a keyOpensPiece
 * verdict hands D the key (as T does at 3.3): D may have kept its 2.3 from P and
 * come straight here, and P must still be able to deposit.
 */
export interface KeptCheque {
  /** hash of P's cheque envelope, the verdict's key */
  id: string
  provider: string
  downloader: string
  chequeSn: string
  price: number
  /** base64 envelopes as D sent them, checked, ready for a deposit */
  cheque: string
  accept: string
  certificate: string
  /** hash of the verdict that handed out K */
  verdict: string
  at: number
}

export interface BanRecord {
  hash: string
  peer: string
  verdict: string
  from: number
  until: number
  /** base64 envelope, for peers */
  ban: string
}

/** What a complaint gets back: the signed verdict, and for a providerBan the signed ban record. */
export interface JudgeResult {
  hash: string
  verdict: string
  body: VerdictBody
  ban?: string
}

export interface JudgeMeta {
  verdicts: number
  providerBan: number
  invalidComplain: number
}

export interface JudgmentTables {
  /** by cheque hash: one verdict per cheque */
  verdicts: Table<VerdictRecord>
  /** by ban record hash */
  bans: Table<BanRecord>
  /** `provider|cheque hash`, only while undelivered: what a provider fetches is a scan of what is still kept */
  kept: Table<KeptCheque>
  meta: Table<JudgeMeta>
}

export interface JudgmentConfig {
  /** how long a providerBan keeps the provider out */
  banMs: number
  now: () => number
}

export const EMPTY_JUDGE_META: JudgeMeta = { verdicts: 0, providerBan: 0, invalidComplain: 0 }

// ---- the signed records, for the peers and the AC that receive them ----

export function checkVerdictBody(b: VerdictBody): void {
  if (b == null || typeof b !== 'object') fail(ErrorCode.BAD_REQUEST, 'verdict must be an object')
  exactKeys(b, ['judge', 'cheque', 'provider', 'downloader', 'chequeSn', 'ruling', 'reason', 'at'], 'verdict', ['key'])
  checkPeer(b.judge, 'judge')
  checkPeer(b.provider, 'provider')
  checkPeer(b.downloader, 'downloader')
  if (!isHash(b.cheque)) fail(ErrorCode.BAD_REQUEST, 'verdict cheque must be a hash')
  if (!isToken(b.chequeSn)) fail(ErrorCode.BAD_REQUEST, 'verdict chequeSn must be a serial')
  if (!Object.hasOwn(RULING_OF, b.reason) || RULING_OF[b.reason] !== b.ruling)
    fail(ErrorCode.BAD_REQUEST, 'verdict reason does not fit its ruling')
  if (b.key !== undefined && (b.reason !== 'keyOpensPiece' || !isHash(b.key)))
    fail(ErrorCode.BAD_REQUEST, 'only a keyOpensPiece verdict carries a key (64 hex)')
  if (!isTimestamp(b.at)) fail(ErrorCode.BAD_REQUEST, 'verdict at must be a timestamp')
}

export function checkBanBody(b: BanBody): void {
  if (b == null || typeof b !== 'object') fail(ErrorCode.BAD_REQUEST, 'ban record must be an object')
  exactKeys(b, ['judge', 'peer', 'verdict', 'from', 'until'], 'ban record')
  checkPeer(b.judge, 'judge')
  checkPeer(b.peer, 'peer')
  if (!isHash(b.verdict)) fail(ErrorCode.BAD_REQUEST, 'ban verdict must be a hash')
  if (!isTimestamp(b.from) || !isTimestamp(b.until) || b.until <= b.from)
    fail(ErrorCode.BAD_REQUEST, 'ban must run from..until, until after from')
}

/**
 * Opens a verdict and checks it is `judgeId`'s. The AC voids a cheque only on
 * a verdict opened here, with ruling providerBan and `cheque` equal to the hash
 * of the cheque it voids.
 */
export function openVerdict(
  verifier: Verifier,
  b64: unknown,
  judgeId: string,
  kind: FairexKind = 'fairex-verdict'
): Opened<VerdictBody> {
  const env = verifier.open<VerdictBody>(decodeEnvelope(b64, 'verdict'), JUDGMENT_TAG.verdict, kind)
  checkVerdictBody(env.body)
  if (env.signer !== env.body.judge) fail(ErrorCode.WRONG_SIGNER, 'verdict not signed by the judge it names')
  if (env.body.judge !== judgeId) fail(ErrorCode.WRONG_BROKER, 'verdict of another judge')
  return env
}

/** Opens a ban record a node was sent: `judgeId`'s, and still in force at `now`. */
export function openBan(
  verifier: Verifier,
  b64: unknown,
  judgeId: string,
  now: number,
  kind: FairexKind = 'fairex-ban'
): Opened<BanBody> {
  const env = verifier.open<BanBody>(decodeEnvelope(b64, 'ban record'), JUDGMENT_TAG.ban, kind)
  checkBanBody(env.body)
  if (env.signer !== env.body.judge) fail(ErrorCode.WRONG_SIGNER, 'ban record not signed by the judge it names')
  if (env.body.judge !== judgeId) fail(ErrorCode.WRONG_BROKER, 'ban record of another judge')
  if (now >= env.body.until) fail(ErrorCode.EXPIRED, 'ban expired')
  return env
}
