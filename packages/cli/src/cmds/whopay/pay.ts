import type { Command } from '../../command.ts'

export const pay: Command = {
  name: 'pay',
  summary: 'pay a peer an exact amount: owned coins issued to it, held coins transferred via their owners',
  daemon: 'node',
  options: {
    to: { type: 'string', required: true, help: 'the payee: a peer id, or a multiaddr ending in /p2p/<peer id>' },
    amount: { type: 'integer', required: true, help: 'whole units' }
  },
  examples: [
    'p2pay whopay pay --to 12D3KooW... --amount 5',
    'p2pay whopay pay --to /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW... --amount 10'
  ],
  run: async o => await o.api('POST', '/v1/whopay/pay', { to: o.str('to'), amount: o.int('amount') })
}
