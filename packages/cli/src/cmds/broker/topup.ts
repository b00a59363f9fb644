import { MAX_MONEY } from '@p2pay/core'
import type { Command } from '../../command.ts'

export const topup: Command = {
  name: 'topup',
  summary: 'credit an account (stands in for the outside money system)',
  daemon: 'broker',
  options: {
    account: { type: 'string', required: true, help: 'the peer id whose account to credit' },
    amount: {
      type: 'integer',
      required: true,
      help: `whole units; the money topped up in all stays within ${MAX_MONEY} (2^50)`
    }
  },
  examples: ['p2pay broker topup --account 12D3KooW... --amount 1000'],
  run: async o => await o.api('POST', '/v1/topup', { account: o.str('account'), amount: o.int('amount') })
}
