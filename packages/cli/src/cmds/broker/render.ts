// The broker's answers for a person.
import { records, type RenderOptions } from '../../render/generic.ts'

/** GET /v1/accounts: `{ accounts: { <peer id>: balance } }` as a table of accounts and balances. */
export function accounts(answer: any, o: RenderOptions): string {
  const map: Record<string, unknown> = answer?.accounts ?? {}
  const rows = Object.entries(map).map(([account, balance]) => ({ account, balance }))
  return rows.length === 0 ? 'no accounts' : records(rows, { ...o, full: true }).join('\n')
}
