// `p2pay whopay ...`: WhoPay coins, run against a node (frauds against the broker, openings against the judge).
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { buy, deposit, join, renew, withdraw } from './wallet.ts'
import { pay } from './pay.ts'

export const whopay: Group = {
  name: 'whopay',
  summary: 'WhoPay: coins that are public keys, transferred via their owner under BBS04 group signatures',
  commands: [
    join,
    buy,
    pay,
    deposit,
    renew,
    withdraw,
    read(
      'coins',
      'owned, held, pending and spent coins, and the purse',
      '/v1/whopay/coins',
      'node',
      'p2pay whopay coins --data-dir ./.data/alice'
    ),
    read(
      'frauds',
      'the fraud records the broker keeps, each naming the convicted peer',
      '/v1/whopay/frauds',
      'broker',
      'p2pay whopay frauds'
    ),
    read(
      'openings',
      'the openings the judge signed, each naming a member key',
      '/v1/whopay/openings',
      'judge',
      'p2pay whopay openings --data-dir ./.data/judge'
    )
  ]
}
