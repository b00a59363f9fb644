// The broker's conservation audit over every scheme it hosts: the money topped
// up is in the accounts or in some scheme's custody (unpaid coins, escrow), and
// each scheme's own books hold. Each scheme's audit fields are shown beside.
import { sumMoney, type AccountKeeper, type SchemeService } from '@p2pay/core'

export function brokerAudit(keeper: AccountKeeper, schemes: Iterable<SchemeService>): Record<string, unknown> {
  const { toppedUp, balances } = keeper.totals()
  const custody: number[] = []
  let own = true
  const fields: Record<string, unknown> = {}
  for (const s of schemes) {
    const a = s.audit?.()
    if (a == null) continue
    const { custody: c, holds, ...rest } = a
    custody.push(c)
    own &&= holds
    Object.assign(fields, rest)
  }
  // past 2^53 a sum can come out right by rounding: every figure and sum must be a whole amount within MAX_MONEY
  const accounted = sumMoney([balances, ...custody])
  return { toppedUp, balances, ...fields, holds: accounted !== undefined && accounted === toppedUp && own }
}
