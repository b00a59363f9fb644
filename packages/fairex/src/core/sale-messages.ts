// One purchase of the file market, both sides, as pure synchronous steps: each
// takes the message received and returns the next one to send. Streams, disk,
// clocks and LevelDB are the service's; pieces pass through and are never kept
// (only the 32-byte piece hashes and the one encrypted key piece are). This
// file holds the messages and the checks both sides share; the provider's
// steps are in sale-provider.ts, the downloader's in sale-downloader.ts.
//
//   D (Purchase)                                       P (ProviderSale)
//   startPurchase    -- 1.1 REQ, capital certificate -->  acceptRequest
//   onAccept         <-- 1.2 manifest, piece hashes, keyIndex, form (or a refusal)
//   onPiece, each    <-- 2.1 pieces in order, SEK(KP) at keyIndex --  pieceToSend
//   onCheque         <-- 2.2 Sig_P(C, Z), Z --  chequeMessage
//                    -- 2.3 Sig_D(C, Z) -->  onChequeAccepted (-> deposit item)
//   onKey            <-- 2.4 K
//   disputeBundle    -- 3.1 to the TTP: no key, or one that does not open SEK(KP)
//   complaint        -- COMP to the judge (fixed form)
//
// Form 'original' is the paper's protocol and keeps its flaw on purpose: the
// TTP cannot tell K from a garbage K' in Z. Form 'fixed' signs C* (REQ, D's
// certificate, the judge, the manifest and keyIndex) and seals K for the judge
// too, so a judge can decide whether Z opens SEK(KP) to the piece the file id names.
//
// States are mutated in place, and only after every check passed: a step that
// throws (P2payError) changed nothing and signed nothing.
import { ErrorCode, exactKeys, fail } from '@p2pay/core'
import type { ChequeForm } from './messages.ts'

export type SaleForm = ChequeForm

/** The one error a piece that fails its hash gets, on either side. */
export const PIECE_MISMATCH = 'piece does not match the file id'
/** Z is opened by the TTP or judge, which refuse anything larger (zbox.ts). */
export const MAX_Z = 4096

// ---- messages (all strings are base64 signed envelopes unless said otherwise) ----

/** 1.1: REQ signed by D, with D's capital certificate. */
export interface Message1_1 {
  request: string
  certificate: string
}
/**
 * 1.2 accept: P's signed manifest, the piece hashes (hex, in order), which
 * piece comes encrypted, the form, and (fixed form) the judge P will name in C*,
 * so D can refuse a judge it does not trust before downloading anything.
 */
export interface Message1_2 {
  manifest: string
  pieceHashes: string[]
  keyIndex: number
  form: SaleForm
  judge?: string
}
/** 1.2 refuse. */
export interface Refusal {
  code: string
  message: string
}
/** 2.2: P's cheque and Z (base64 of the sealed box). */
export interface Message2_2 {
  cheque: string
  z: string
}
/** 2.3: D's countersignature of that cheque envelope. */
export interface Message2_3 {
  accept: string
}
/** 2.4 (and the TTP's 3.2): the key K, 64 hex. */
export interface Message2_4 {
  key: string
}
/** 3.1, D to the TTP. */
export interface Message3_1 {
  request: string
  cheque: string
  accept: string
  z: string
  certificate: string
}
/**
 * COMP = C*, Z, Sig_D, Sig_P, REQ, SEK(KP), plus what fixes the file: the manifest and its piece hashes (hex),
 * and D's certificate, which P deposits the cheque the judge keeps for it against.
 */
export interface ComplaintMessage {
  cheque: string
  accept: string
  z: string
  request: string
  sek: string
  manifest: string
  pieceHashes: string[]
  certificate: string
}

// ---- shared checks ----

/** `m` is an object with exactly the fields `keys`. */
export function fields(m: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (m == null || typeof m !== 'object' || Array.isArray(m)) fail(ErrorCode.BAD_REQUEST, `${what} must be an object`)
  exactKeys(m, keys, what)
  return m as Record<string, unknown>
}

export function checkForm(form: unknown): SaleForm {
  if (form !== 'original' && form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'form must be "original" or "fixed"')
  return form
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
