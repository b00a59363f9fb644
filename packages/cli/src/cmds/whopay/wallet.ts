import type { Command } from '../../command.ts'

export const join: Command = {
  name: 'join',
  summary: 'join the group once: the broker issues this node a BBS04 member key and registers it under its peer id',
  daemon: 'node',
  examples: ['p2pay whopay join', 'p2pay whopay join --data-dir ./.data/alice'],
  run: async o => await o.api('POST', '/v1/whopay/join', {})
}

export const buy: Command = {
  name: 'buy',
  summary: "buy coins from the broker (debits this node's account): this node owns them and signs their transfers",
  daemon: 'node',
  options: {
    value: { type: 'integer', required: true, help: 'the value of each coin' },
    count: { type: 'integer', help: 'how many (default 1)' }
  },
  examples: ['p2pay whopay buy --value 5', 'p2pay whopay buy --value 1 --count 20'],
  run: async o => await o.api('POST', '/v1/whopay/buy', { value: o.int('value'), count: o.int('count') })
}

export const deposit: Command = {
  name: 'deposit',
  summary: "deposit every held coin (or one) at the broker, into this node's purse, from a fresh identity",
  daemon: 'node',
  options: { coin: { type: 'string', help: 'the id (coin key) of the one held coin to deposit' } },
  examples: ['p2pay whopay deposit', 'p2pay whopay deposit --coin 12D3KooW...'],
  run: async o => await o.api('POST', '/v1/whopay/deposit', { coin: o.str('coin') })
}

export const renew: Command = {
  name: 'renew',
  summary: 'renew a held coin near its expiry at the broker: a later certificate, the coin bound to a fresh key',
  daemon: 'node',
  options: { coin: { type: 'string', required: true, help: 'the id (coin key) of the held coin to renew' } },
  examples: ['p2pay whopay renew --coin 12D3KooW...'],
  run: async o => await o.api('POST', '/v1/whopay/renew', { coin: o.str('coin') })
}

export const withdraw: Command = {
  name: 'withdraw',
  summary: "move money from this node's purse to its broker account (links the purse to this node, on purpose)",
  daemon: 'node',
  options: { amount: { type: 'integer', help: 'how much (default: all the purse holds)' } },
  examples: ['p2pay whopay withdraw', 'p2pay whopay withdraw --amount 10'],
  run: async o => await o.api('POST', '/v1/whopay/withdraw', { amount: o.int('amount') })
}
