// The wallet's upkeep: refunds, the owner's sync with the broker's downtime log, retries, an owned coin's trail.
import type { Command } from '../../command.ts'

export const refund: Command = {
  name: 'refund',
  summary: 'return owned coins never assigned to the broker for their value',
  daemon: 'node',
  examples: ['p2pay ppay refund'],
  run: async o => await o.api('POST', '/v1/ppay/refund')
}

export const sync: Command = {
  name: 'sync',
  summary: "pull the broker's downtime log for coins this node owns",
  daemon: 'node',
  examples: ['p2pay ppay sync'],
  run: async o => await o.api('POST', '/v1/ppay/sync')
}

export const retry: Command = {
  name: 'retry',
  summary: 'retry queued deliveries and purchases now',
  daemon: 'node',
  examples: ['p2pay ppay retry'],
  run: async o => await o.api('POST', '/v1/ppay/retry')
}

export const trail: Command = {
  name: 'trail',
  summary: 'audit trail of an owned coin: every assignment its owner (or the broker for it) signed',
  daemon: 'node',
  options: { sn: { type: 'string', required: true, help: 'the coin serial (see p2pay ppay coins)' } },
  examples: ['p2pay ppay trail --sn 5f2c...'],
  run: async o => await o.api('GET', `/v1/ppay/trail?sn=${encodeURIComponent(o.str('sn')!)}`)
}
