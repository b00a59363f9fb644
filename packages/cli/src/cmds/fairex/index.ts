// `p2pay fairex ...`: the fair-exchange file market, run against a node.
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { buy } from './buy.ts'
import { catalog, complain, deposit } from './trade.ts'
import { share } from './share.ts'

export const fairex: Group = {
  name: 'fairex',
  summary: 'the fair-exchange file market of Zuo and Li: sell and buy files, with a TTP and a judge',
  commands: [
    share,
    read('files', 'the files this node offers', '/v1/fairex/files', 'node', 'p2pay fairex files'),
    catalog,
    buy,
    read(
      'purchases',
      'files bought or being bought, with their state',
      '/v1/fairex/purchases',
      'node',
      'p2pay fairex purchases'
    ),
    read('sales', 'files sold, with their cheques', '/v1/fairex/sales', 'node', 'p2pay fairex sales'),
    deposit,
    read('bans', 'providers the judge banned, as this node knows them', '/v1/fairex/bans', 'node', 'p2pay fairex bans'),
    complain
  ]
}
