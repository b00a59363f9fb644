import { peerArg, type Command } from '../../command.ts'

export const pay: Command = {
  name: 'pay',
  summary: 'pay a peer an exact amount with owned or held coins',
  daemon: 'node',
  options: {
    to: { type: 'string', required: true, help: 'the payee: a peer id, or a multiaddr ending in /p2p/<peer id>' },
    amount: { type: 'integer', required: true, help: 'whole units; coins whose values add up to it exactly are used' },
    layered: { type: 'boolean', help: 'spend held coins by adding a layer instead of asking their owner' }
  },
  examples: [
    'p2pay ppay pay --to 12D3KooW... --amount 5',
    'p2pay ppay pay --to /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW... --amount 10 --layered'
  ],
  run: async o => {
    const { id, addrs } = peerArg(o.str('to')!, 'to')
    return await o.api('POST', '/v1/ppay/pay', { to: id, addrs, amount: o.int('amount'), layered: o.bool('layered') })
  }
}
