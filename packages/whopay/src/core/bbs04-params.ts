// BBS04's sizes and error codes apart from its arithmetic (bbs04.ts), so a file that only needs a size or a code
// does not load mcl-wasm (about 20 MiB resident per thread) with it.
import { defineErrorCodes } from '@p2pay/core/errors'

export const Bbs04ErrorCode = defineErrorCodes({
  /** a valid group signature whose signer's key is not in the registry */
  UNKNOWN_MEMBER: 'UNKNOWN_MEMBER',
  /** a valid group signature by a member key that has been revoked */
  REVOKED_MEMBER: 'REVOKED_MEMBER'
})

/** What the challenge hash starts with. */
export const BBS04_DOMAIN = 'p2pay/whopay/bbs04/v1\0'
export const SCALAR_BYTES = 32
/** a compressed G1 point */
export const G1_BYTES = 48
/** a compressed G2 point */
export const G2_BYTES = 96
export const GPK_BYTES = 4 * G1_BYTES + 2 * G2_BYTES
/** h, u, v: what the opener publishes */
export const OPENER_PART_BYTES = 3 * G1_BYTES
export const ISSUER_KEY_BYTES = SCALAR_BYTES
export const OPENER_KEY_BYTES = 2 * SCALAR_BYTES
export const MEMBER_KEY_BYTES = G1_BYTES + SCALAR_BYTES
/** T1, T2, T3 and six scalars: 336 bytes */
export const SIGNATURE_BYTES = 3 * G1_BYTES + 6 * SCALAR_BYTES
