import type { Command } from '../../command.ts'

export const buy: Command = {
  name: 'buy',
  summary: "buy PPay coins from the broker, paid from this node's account balance",
  daemon: 'node',
  options: {
    count: { type: 'integer', required: true, help: 'how many coins' },
    value: { type: 'integer', required: true, help: 'the value of each' }
  },
  examples: ['p2pay ppay buy --count 10 --value 5'],
  run: async o => await o.api('POST', '/v1/ppay/buy', { count: o.int('count'), value: o.int('value') })
}
