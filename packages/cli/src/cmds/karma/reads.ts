// Reads about an account: its balance by majority, its bank-set.
import { ErrorCode, P2payError } from '@p2pay/core'
import { peerArg, type Command, type Opts } from '../../command.ts'

/** `[peer id]` as a word or --peer; none means this node's own account. */
function peerQuery(o: Opts, args: string[]): string {
  if (args.length > 1) throw new P2payError(ErrorCode.BAD_REQUEST, 'at most one peer id')
  const p = args[0] ?? o.str('peer') ?? ''
  return p === '' ? '' : `?peer=${encodeURIComponent(peerArg(p, 'peer').id)}`
}

const PEER = { type: 'string', help: 'whose (a multiaddr ending in /p2p/<id> works too); also as a word' } as const

export const balance: Command = {
  name: 'balance',
  summary: "a balance as a strict majority of the account's bank-set signed it (default: this node's own)",
  daemon: 'node',
  args: '[peer id]',
  options: { peer: PEER },
  examples: ['p2pay karma balance', 'p2pay karma balance 12D3KooW...'],
  run: async (o, args) => await o.api('GET', `/v1/karma/balance${peerQuery(o, args)}`)
}

export const bankset: Command = {
  name: 'bankset',
  summary: 'bank(peer) as this node computes it: the k peers closest to H("karma|" + peer) (default: its own)',
  daemon: 'node',
  args: '[peer id]',
  options: { peer: PEER, fresh: { type: 'boolean', help: 'ask the DHT now instead of reusing a recent answer' } },
  examples: ['p2pay karma bankset', 'p2pay karma bankset 12D3KooW... --fresh'],
  run: async (o, args) => {
    const q = peerQuery(o, args)
    const fresh = o.bool('fresh') ? (q === '' ? '?fresh=1' : '&fresh=1') : ''
    return await o.api('GET', `/v1/karma/bankset${q}${fresh}`)
  }
}
