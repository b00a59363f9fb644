// What a provider keeps in its deposit queue after the AC answered a deposit:
// a cheque paid (or held) or refused for good leaves it; one refused for a
// passing reason stays for the next batch.
import { ErrorCode } from '@p2pay/core'
import type { DepositResult } from './accounting-records.ts'

/** deposit refusals that no retry can change: the item leaves the queue (and is logged) */
export const FINAL_REFUSALS: readonly string[] = [
  ErrorCode.ALREADY_CASHED,
  ErrorCode.FRAUD,
  ErrorCode.EXPIRED,
  ErrorCode.WRONG_SIGNER,
  ErrorCode.WRONG_OWNER,
  ErrorCode.WRONG_BROKER,
  ErrorCode.WRONG_HOLDER,
  ErrorCode.NOT_FOUND,
  ErrorCode.BAD_REQUEST
]

/** The cheques (by the hash of their envelope) that leave the provider's deposit queue. */
export function settledCheques(result: DepositResult): Set<string> {
  return new Set(
    result.results.filter(r => r.status !== 'refused' || FINAL_REFUSALS.includes(r.code)).map(r => r.cheque)
  )
}
