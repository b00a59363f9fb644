// Deliberately faulty bank members, for test swarms only: a service gets these
// through its `byzantine` field (in-process tests) or, on a daemon started with
// --allow-cheats, through POST /v1/karma/cheat/byzantine. Each mode produces
// exactly the signed objects a real liar would, so detection is tested for real.
import { ErrorCode, fail } from '@p2pay/core'
import { TAG, KIND, noticeFor, seal, type Signed, type TransferBody } from './messages.ts'
import type { Signer } from '@p2pay/core'

export const BYZANTINE_MODES = [
  'lie-balance',
  'double-credit',
  'drop',
  'conflict',
  'replay-notices',
  'forge-state'
] as const
/**
 * lie-balance    signs balance answers 1000 above its books
 * double-credit  credits every transfer it credits a second time in its own books
 * drop           takes requests and notices but never passes a notice on (as if lost)
 * conflict       signs two different notices for one request: the true one for
 *                half of bank(B), one with a tenfold amount for the other half
 * replay-notices on every housekeeping tick, for every request it debited,
 *                sends the request to bank(A) again (its honest members sign
 *                the notices again and resend them to bank(B)) and its own
 *                notice to every member of bank(B), however old
 * forge-state    answers state exports (hand-over, resync) with a balance
 *                LIE_OFFSET above its books, signed
 */
export type ByzantineMode = (typeof BYZANTINE_MODES)[number]

export function checkModes(modes: unknown): ByzantineMode[] {
  if (!Array.isArray(modes) || !modes.every(m => (BYZANTINE_MODES as readonly string[]).includes(m))) {
    fail(ErrorCode.BAD_REQUEST, `modes must be a list of ${BYZANTINE_MODES.join(', ')}`)
  }
  return modes as ByzantineMode[]
}

export const LIE_OFFSET = 1000

/** A notice that says something else than the request it carries: signed, so it is evidence against its signer. */
export function conflictingNotice(signer: Signer, req: Signed<TransferBody>): string {
  const body = { ...noticeFor(signer.peerId, req), amount: req.body.amount * 10 }
  return seal(signer, TAG.notice, body, KIND.transfer).b64
}
