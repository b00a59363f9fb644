// `p2pay aggsign ...`: AggSign coins, run against a node.
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { cash, certify, mint } from './coins.ts'
import { pay } from './pay.ts'
import { renew } from './renew.ts'

export const aggsign: Group = {
  name: 'aggsign',
  summary: 'AggSign: coins minted by their holder under a broker certificate, paid on by BLS-aggregated layers',
  commands: [
    certify,
    mint,
    pay,
    renew,
    cash,
    read(
      'coins',
      'held, pending, spent and cashed coins, and the value held',
      '/v1/aggsign/coins',
      'node',
      'p2pay aggsign coins --data-dir ./.data/alice'
    ),
    read('frauds', 'the fraud records the broker keeps', '/v1/aggsign/frauds', 'broker', 'p2pay aggsign frauds'),
    read(
      'certs',
      'the certificates the broker signed, with their escrow',
      '/v1/aggsign/certs',
      'broker',
      'p2pay aggsign certs'
    )
  ]
}
