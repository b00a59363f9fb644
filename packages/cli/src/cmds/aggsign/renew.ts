import type { Command } from '../../command.ts'

export const renew: Command = {
  name: 'renew',
  summary: 'renew a held coin at its layer limit: it goes back to its minter, which pays a fresh coin of its value',
  daemon: 'node',
  options: {
    coin: { type: 'string', required: true, help: 'the id of the held coin to renew' },
    minter: { type: 'string', help: "where the coin's minter listens: a multiaddr ending in /p2p/<peer id>" }
  },
  examples: [
    'p2pay aggsign renew --coin 8fdb03...',
    'p2pay aggsign renew --coin 8fdb03... --minter /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW...'
  ],
  run: async o => await o.api('POST', '/v1/aggsign/renew', { coin: o.str('coin'), minter: o.str('minter') })
}
