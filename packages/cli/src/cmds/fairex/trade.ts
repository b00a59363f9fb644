// A provider's catalog, the provider's deposit of its cheques, and a buyer's complaint to the judge.
import { peerArg, type Command } from '../../command.ts'

export const catalog: Command = {
  name: 'catalog',
  summary: 'the files a provider offers',
  daemon: 'node',
  options: { provider: { type: 'string', required: true, help: 'a peer id, or a multiaddr ending in /p2p/<peer id>' } },
  examples: [
    'p2pay fairex catalog --provider 12D3KooW...',
    'p2pay fairex catalog --provider /ip4/127.0.0.1/tcp/4003/p2p/12D3KooW...'
  ],
  run: async o => {
    const provider = o.str('provider')!
    peerArg(provider, 'provider')
    return await o.api('GET', `/v1/fairex/catalog?provider=${encodeURIComponent(provider)}`)
  }
}

export const deposit: Command = {
  name: 'deposit',
  summary: "deposit the cheques of this node's sales at the broker's accounting centre, in one batch",
  daemon: 'node',
  examples: ['p2pay fairex deposit', 'p2pay fairex deposit --data-dir ./.data/alice'],
  run: async o => await o.api('POST', '/v1/fairex/deposit')
}

export const complain: Command = {
  name: 'complain',
  summary: 'take a purchase whose key does not open the file to the judge (fixed form)',
  daemon: 'node',
  options: {
    sn: { type: 'string', required: true, help: 'the cheque serial of the purchase (see p2pay fairex purchases)' }
  },
  examples: ['p2pay fairex complain --sn 3b1f0c9e8d7a6b5c'],
  run: async o => await o.api('POST', '/v1/fairex/complain', { chequeSn: o.str('sn') })
}
