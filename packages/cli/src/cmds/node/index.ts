// `p2pay node ...`: the peer daemon.
import { nodeOptions, startNode, type NodeConfig } from '@p2pay/node'
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { startCommand } from '../start.ts'
import { status } from '../../render/status.ts'

export const node: Group = {
  name: 'node',
  summary: 'a peer: pays and is paid (PPay), sells and buys files, banks karma',
  commands: [
    startCommand<NodeConfig>('run a peer daemon (PPay wallet, file market, Karma)', nodeOptions, startNode, [
      'p2pay node start --data-dir ./.data/alice --broker /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...',
      'p2pay node start --listen /ip4/0.0.0.0/tcp/4003 --announce /ip4/198.51.100.9/tcp/4003 --broker ...'
    ]),
    read(
      'status',
      "the node's identity, connections and each scheme's state",
      '/v1/status',
      'node',
      'p2pay node status',
      status
    )
  ]
}
