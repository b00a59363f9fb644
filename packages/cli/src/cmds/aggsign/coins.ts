import type { Command } from '../../command.ts'

export const certify: Command = {
  name: 'certify',
  summary: "have the broker certify this node's BLS key: it escrows the limit from this node's account",
  daemon: 'node',
  options: {
    limit: { type: 'integer', required: true, help: 'the most value this node may mint under the certificate' },
    'ttl-ms': { type: 'integer', help: "the certificate's lifetime (default: the broker's)" }
  },
  examples: ['p2pay aggsign certify --limit 1000', 'p2pay aggsign certify --limit 50 --ttl-ms 86400000'],
  run: async o => await o.api('POST', '/v1/aggsign/certify', { limit: o.int('limit'), ttlMs: o.int('ttl-ms') })
}

export const mint: Command = {
  name: 'mint',
  summary: "mint coins under this node's certificate (no message: refused past the limit)",
  daemon: 'node',
  options: {
    value: { type: 'integer', required: true, help: 'the value of each coin' },
    count: { type: 'integer', help: 'how many (default 1)' }
  },
  examples: ['p2pay aggsign mint --value 5', 'p2pay aggsign mint --value 1 --count 100'],
  run: async o => await o.api('POST', '/v1/aggsign/mint', { value: o.int('value'), count: o.int('count') })
}

export const cash: Command = {
  name: 'cash',
  summary: 'cash every held coin (or one) at the broker',
  daemon: 'node',
  options: {
    coin: { type: 'string', help: 'the id of the one coin to cash' },
    concurrency: { type: 'integer', help: 'cashings in flight at once (default 32)' }
  },
  examples: ['p2pay aggsign cash', 'p2pay aggsign cash --coin 8fdb03...'],
  run: async o => await o.api('POST', '/v1/aggsign/cash', { coin: o.str('coin'), concurrency: o.int('concurrency') })
}
