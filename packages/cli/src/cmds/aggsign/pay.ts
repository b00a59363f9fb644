import type { Command } from '../../command.ts'

export const pay: Command = {
  name: 'pay',
  summary: 'pay a peer an exact amount: held coins that add up to it, else one coin minted for it; one layer each',
  daemon: 'node',
  options: {
    to: { type: 'string', required: true, help: 'the payee: a peer id, or a multiaddr ending in /p2p/<peer id>' },
    amount: { type: 'integer', help: 'whole units (required unless --coin)' },
    coin: { type: 'string', help: 'pay this one held coin' }
  },
  examples: [
    'p2pay aggsign pay --to 12D3KooW... --amount 5',
    'p2pay aggsign pay --to /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW... --coin 8fdb03...'
  ],
  run: async o =>
    await o.api('POST', '/v1/aggsign/pay', { to: o.str('to'), amount: o.int('amount'), coin: o.str('coin') })
}
