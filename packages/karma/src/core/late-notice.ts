// bank(B)'s cheap path for the notices that arrive after a credit (the k -
// majority of bank(A) that were not needed): most of a bank(B) member's
// signature checks, spared when the notice can change nothing.
import { canonicalJson, fromB64, sha256Hex } from '@p2pay/core'
import type { Member } from './member.ts'
import type { CreditRow, NoticeOutcome } from './member-records.ts'
import { noticeOf, peekSigned, TAG, type NoticeBody } from './messages.ts'

/**
 * A notice for a request credited here on votes seen here, that says
 * exactly what that credit says: it can change nothing, so it is answered
 * without checking its signatures. Anything else, a notice that differs
 * (evidence of a lie) included, is undefined and goes through receiveNotice.
 */
export function lateNotice(m: Member, noticeB64: unknown): NoticeOutcome | undefined {
  const n = peekSigned<NoticeBody>(noticeB64, TAG.notice)
  if (n === undefined) return undefined
  const b = n.body
  const row = typeof b.requestHash === 'string' ? m.t.credits.get(b.requestHash) : undefined
  if (row?.status !== 'credited' || row.adopted === true) return undefined
  try {
    // exactly what its signer's notice for the credited request says (a credit seen here holds the request's fields)
    if (canonicalJson(b) !== canonicalJson(noticeOf(n.signer, row as Required<CreditRow>, b.requestHash, b.request)))
      return undefined
    // last, being the dearest: the request it carries is the one credited (other bytes would make it a lie)
    if (sha256Hex(fromB64(b.request)) !== b.requestHash) return undefined
  } catch {
    return undefined
  }
  return { status: 'already-credited', requestHash: b.requestHash, receipt: m.receiptFor(b.requestHash)! }
}
