// Error codes only WhoPay uses; the shared ones (BAD_SIGNATURE, WRONG_HOLDER, STALE_SEQ, FRAUD, ...) are core's.
import { defineErrorCodes } from '@p2pay/core'

export const WhopayErrorCode = defineErrorCodes({
  NO_SUCH_COIN: 'NO_SUCH_COIN',
  /** two holder requests shown as a double spend that do not conflict (other coin, key or seq, or the same spend) */
  NOT_CONFLICT: 'NOT_CONFLICT',
  /** a coin delivered to a key its payee never invoiced, or invoiced for another value */
  NOT_INVOICED: 'NOT_INVOICED',
  /** a holder request whose group signature does not verify under the group's public key */
  BAD_GROUP_SIGNATURE: 'BAD_GROUP_SIGNATURE',
  /** the coin was deposited or renewed: it moves no more at this generation */
  COIN_SPENT: 'COIN_SPENT',
  /** a certificate or binding of another generation of the coin than the one asked about */
  WRONG_GEN: 'WRONG_GEN',
  NO_SUCH_PURSE: 'NO_SUCH_PURSE'
})
