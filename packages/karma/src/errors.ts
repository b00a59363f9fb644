// Error codes only Karma uses; the shared ones are core's ErrorCode.
import { defineErrorCodes } from '@p2pay/core'

export const KarmaErrorCode = defineErrorCodes({
  /** no strict majority of a bank-set (or of an epoch's coordinators) answered alike: a retry may succeed */
  NO_MAJORITY: 'NO_MAJORITY'
})
