// Error codes only PPay uses; the shared ones are core's ErrorCode.
import { defineErrorCodes } from '@p2pay/core'

export const PPayErrorCode = defineErrorCodes({
  /** a layered coin deeper than the limit of whoever checks it */
  LAYER_DEPTH: 'LAYER_DEPTH',
  NO_SUCH_COIN: 'NO_SUCH_COIN',
  /** no set of spendable coins adds up to the amount */
  NO_EXACT_AMOUNT: 'NO_EXACT_AMOUNT',
  /** some coins of a payment went through and some did not: the details say which */
  PARTIAL_PAYMENT: 'PARTIAL_PAYMENT'
})
