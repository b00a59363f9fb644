// Error codes only AggSign uses; the shared ones are core's ErrorCode.
import { defineErrorCodes } from '@p2pay/core'

export const AggsignErrorCode = defineErrorCodes({
  /** a coin with more layers than allowed, or a layer past the limit: such a coin is only cashed or renewed */
  LAYER_LIMIT: 'LAYER_LIMIT',
  /** a coin names a certificate its checker does not know */
  UNKNOWN_CERT: 'UNKNOWN_CERT',
  /** a proof of possession that does not verify for this key and peer */
  BAD_POP: 'BAD_POP',
  /** minting this coin would take the minter past its certificate's limit */
  OVER_LIMIT: 'OVER_LIMIT',
  NO_SUCH_COIN: 'NO_SUCH_COIN',
  /** a renewal request whose coin does not end in a renewal layer (depth max + 1, to its minter) */
  NOT_RENEWAL: 'NOT_RENEWAL'
})
