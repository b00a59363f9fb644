// `p2pay karma ...`: Karma, run against a node.
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { balance, bankset } from './reads.ts'
import { transfer } from './transfer.ts'

export const karma: Group = {
  name: 'karma',
  summary: 'Karma: a currency with no central bank; bank-sets of peers vote on balances',
  unit: 'karma',
  commands: [
    {
      name: 'join',
      summary: "solve the join puzzle and have this node's bank-set open its account with the initial karma",
      daemon: 'node',
      examples: ['p2pay karma join', 'p2pay karma join --data-dir ./.data/alice'],
      run: async o => await o.api('POST', '/v1/karma/join')
    },
    balance,
    transfer,
    bankset,
    read(
      'status',
      "this node's books as a bank member, its epoch, pending work",
      '/v1/karma/status',
      'node',
      'p2pay karma status'
    ),
    read(
      'received',
      'transfers this node was paid, each with majority receipts of both bank-sets',
      '/v1/karma/received',
      'node',
      'p2pay karma received'
    ),
    read(
      'caught',
      'bank members this node caught signing something false, with the signed evidence',
      '/v1/karma/caught',
      'node',
      'p2pay karma caught'
    )
  ]
}
