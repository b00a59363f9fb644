// The signed objects of epochs (see messages.ts for the list):
//   heartbeat  peer -> bank(peer)   peer, epoch
//   report     member -> anyone     member, epoch
//   factor     coordinator -> all   member, epoch (the rescale that ends it)
import { ErrorCode, checkPeerId, exactKeys, fail, isUint, type Signer, type Verifier } from '@p2pay/core'
import { KIND, type KarmaKind } from '../kinds.ts'
import { MAX_KARMA, TAG, seal, signedBy, unseal, type Signed } from './messages.ts'

export interface HeartbeatBody {
  peer: string
  epoch: number
}
export interface ReportBody {
  member: string
  epoch: number
  accounts: number
  active: number
  total: number
}
/** A coordinator's rescale factor ending `epoch`, from `reports` members' reports, in round `attempt` of that epoch. */
export interface FactorBody {
  member: string
  epoch: number
  attempt: number
  num: number
  den: number
  reports: number
}

// ---- heartbeat and epoch report ----

export function makeHeartbeat(signer: Signer<KarmaKind>, epoch: number): Signed<HeartbeatBody> {
  const body: HeartbeatBody = { peer: signer.peerId, epoch }
  checkHeartbeat(body)
  return seal(signer, TAG.heartbeat, body, KIND.epoch)
}

function checkHeartbeat(b: HeartbeatBody): void {
  exactKeys(b, ['peer', 'epoch'], 'heartbeat')
  checkPeerId(b.peer, 'peer')
  if (!isUint(b.epoch)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
}

export function openHeartbeat(verifier: Verifier<KarmaKind>, b64: unknown): Signed<HeartbeatBody> {
  const s = unseal<HeartbeatBody>(verifier, b64, TAG.heartbeat, KIND.epoch, 'heartbeat')
  checkHeartbeat(s.body)
  signedBy(s, s.body.peer, 'a heartbeat')
  return s
}

export function checkReport(b: ReportBody): void {
  exactKeys(b, ['member', 'epoch', 'accounts', 'active', 'total'], 'epoch report')
  checkPeerId(b.member, 'member')
  if (!isUint(b.epoch) || !isUint(b.accounts) || !isUint(b.active) || !isUint(b.total))
    fail(ErrorCode.BAD_REQUEST, 'epoch report counts must be non-negative integers')
  if (b.active > b.accounts) fail(ErrorCode.BAD_REQUEST, 'more active accounts than accounts')
  // every balance is at most MAX_KARMA: a larger total is a lie whatever the account count
  if (BigInt(b.total) > BigInt(b.accounts) * BigInt(MAX_KARMA))
    fail(ErrorCode.BAD_REQUEST, 'epoch report total exceeds accounts * MAX_KARMA')
}

export function makeReport(signer: Signer<KarmaKind>, b: Omit<ReportBody, 'member'>): Signed<ReportBody> {
  const body: ReportBody = {
    member: signer.peerId,
    epoch: b.epoch,
    accounts: b.accounts,
    active: b.active,
    total: b.total
  }
  checkReport(body)
  return seal(signer, TAG.report, body, KIND.epoch)
}

export function openReport(verifier: Verifier<KarmaKind>, b64: unknown): Signed<ReportBody> {
  const s = unseal<ReportBody>(verifier, b64, TAG.report, KIND.epoch, 'epoch report')
  checkReport(s.body)
  signedBy(s, s.body.member, 'an epoch report')
  return s
}

// ---- epoch factor ----

export function checkFactorBody(b: FactorBody): void {
  exactKeys(b, ['member', 'epoch', 'attempt', 'num', 'den', 'reports'], 'epoch factor')
  checkPeerId(b.member, 'member')
  if (!isUint(b.epoch) || !isUint(b.attempt) || !isUint(b.reports))
    fail(ErrorCode.BAD_REQUEST, 'epoch, attempt and reports must be non-negative integers')
  if (
    !Number.isSafeInteger(b.num) ||
    !Number.isSafeInteger(b.den) ||
    b.num < 1 ||
    b.den < 1 ||
    b.num > 2 ** 32 ||
    b.den > 2 ** 32
  )
    fail(ErrorCode.BAD_REQUEST, 'factor must be num/den with integers 1..2^32')
}

export function makeFactor(signer: Signer<KarmaKind>, b: Omit<FactorBody, 'member'>): Signed<FactorBody> {
  const body: FactorBody = {
    member: signer.peerId,
    epoch: b.epoch,
    attempt: b.attempt,
    num: b.num,
    den: b.den,
    reports: b.reports
  }
  checkFactorBody(body)
  return seal(signer, TAG.factor, body, KIND.epoch)
}

export function openFactor(
  verifier: Verifier<KarmaKind>,
  b64: unknown,
  epoch: number,
  attempt: number
): Signed<FactorBody> {
  const s = unseal<FactorBody>(verifier, b64, TAG.factor, KIND.epoch, 'epoch factor')
  checkFactorBody(s.body)
  signedBy(s, s.body.member, 'an epoch factor')
  if (s.body.epoch !== epoch || s.body.attempt !== attempt)
    fail(
      ErrorCode.STALE_SEQ,
      `epoch factor is for epoch ${s.body.epoch} round ${s.body.attempt}, not ${epoch} round ${attempt}`
    )
  return s
}
