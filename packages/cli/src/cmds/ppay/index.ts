// `p2pay ppay ...`: PPay coins, run against a node.
import { read } from '../../command.ts'
import { render } from '../../render/generic.ts'
import type { Group } from '../group.ts'
import { buy } from './buy.ts'
import { pay } from './pay.ts'
import { refund, retry, sync, trail } from './upkeep.ts'

export const ppay: Group = {
  name: 'ppay',
  summary: 'PPay: coins bought from the broker, assigned and reassigned by their owner, cashed',
  commands: [
    buy,
    pay,
    {
      name: 'cash',
      summary: 'cash every held coin at the broker',
      daemon: 'node',
      examples: ['p2pay ppay cash', 'p2pay ppay cash --data-dir ./.data/bob'],
      run: async o => await o.api('POST', '/v1/ppay/cash')
    },
    refund,
    sync,
    retry,
    trail,
    read('coins', 'owned and held coins', '/v1/ppay/coins', 'node', 'p2pay ppay coins --data-dir ./.data/alice'),
    read(
      'balance',
      'account balance at the broker and wallet contents',
      '/v1/ppay/balance',
      'node',
      'p2pay ppay balance',
      // `broker` is the account's balance there
      ({ broker, ...rest }, o) => render({ account: rest.account, brokerBalance: broker, ...rest }, o)
    )
  ]
}
