import { peerArg, type Command } from '../../command.ts'

export const transfer: Command = {
  name: 'transfer',
  summary: 'move karma to another peer through both bank-sets (a receipt once a majority of each confirmed)',
  daemon: 'node',
  options: {
    to: { type: 'string', required: true, help: 'the payee: a peer id with a karma account' },
    amount: { type: 'integer', required: true, help: 'whole karma units' }
  },
  examples: ['p2pay karma transfer --to 12D3KooW... --amount 25'],
  run: async o =>
    await o.api('POST', '/v1/karma/transfer', { to: peerArg(o.str('to')!, 'to').id, amount: o.int('amount') })
}
