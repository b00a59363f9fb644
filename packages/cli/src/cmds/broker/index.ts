// `p2pay broker ...`: the broker daemon and its money routes.
import { brokerOptions, startBroker, type BrokerConfig } from '@p2pay/broker'
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { startCommand } from '../start.ts'
import { status } from '../../render/status.ts'
import { accounts } from './render.ts'
import { topup } from './topup.ts'

export const broker: Group = {
  name: 'broker',
  summary: "PPay's trusted authority and the file market's accounting centre",
  commands: [
    startCommand<BrokerConfig>(
      'run the broker daemon (accounts, coin sales, cashing, downtime log, fraud proofs, capital certificates)',
      brokerOptions,
      startBroker,
      [
        'p2pay broker start --data-dir ./.data/broker --listen /ip4/0.0.0.0/tcp/4001',
        'p2pay broker start --judge 12D3KooW... --announce /dns4/broker.example.org/tcp/4001'
      ]
    ),
    read(
      'status',
      "the broker's identity and conservation audit",
      '/v1/status',
      'broker',
      'p2pay broker status',
      status
    ),
    topup,
    read('accounts', 'every account balance', '/v1/accounts', 'broker', 'p2pay broker accounts', accounts),
    read(
      'audit',
      'balances + unpaid coins + certificate escrow = money topped up?',
      '/v1/audit',
      'broker',
      'p2pay broker audit'
    ),
    read(
      'frauds',
      'PPay fraud proofs recorded, each naming the convicted peer',
      '/v1/ppay/frauds',
      'broker',
      'p2pay broker frauds'
    )
  ]
}
