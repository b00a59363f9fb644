import type { Command } from '../../command.ts'

export const payments: Command = {
  name: 'payments',
  summary: "this node's payments, transfers, purchases and cash-outs with their state; --peers sums them per peer",
  daemon: 'node',
  options: {
    state: { type: 'string', help: 'only these: pending, succeeded, failed or expired' },
    peer: { type: 'string', help: 'only those with this peer id' },
    scheme: { type: 'string', help: 'only those of this scheme' },
    id: { type: 'string', help: 'one payment, in full' },
    peers: { type: 'boolean', help: 'per peer: paid, pending, failed, received, uncashed; the last cash-outs' }
  },
  examples: ['p2pay payments --data-dir ./.data/alice', 'p2pay payments --state pending', 'p2pay payments --peers'],
  run: async o => {
    if (o.bool('peers')) return await o.api('GET', '/v1/payments/peers')
    const q = new URLSearchParams()
    for (const k of ['state', 'peer', 'scheme', 'id']) {
      const v = o.str(k)
      if (v != null) q.set(k, v)
    }
    const s = q.toString()
    return await o.api('GET', `/v1/payments${s === '' ? '' : `?${s}`}`)
  }
}
