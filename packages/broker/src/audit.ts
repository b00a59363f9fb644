// The broker's conservation audit over every scheme it hosts: the money topped
// up is in the accounts or in some scheme's custody (unpaid coins, escrow), and
// each scheme's own books hold. Each scheme's audit fields are shown beside.
import type { AccountKeeper, SchemeService } from '@p2pay/core'

export function brokerAudit(keeper: AccountKeeper, schemes: Iterable<SchemeService>): Record<string, unknown> {
  const { toppedUp, balances } = keeper.totals()
  let custody = 0
  let own = true
  const fields: Record<string, unknown> = {}
  for (const s of schemes) {
    const a = s.audit?.()
    if (a == null) continue
    const { custody: c, holds, ...rest } = a
    custody += c
    own &&= holds
    Object.assign(fields, rest)
  }
  return { toppedUp, balances, ...fields, holds: balances + custody === toppedUp && own }
}
