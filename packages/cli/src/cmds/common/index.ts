// Verbs every daemon answers, at the top level: `p2pay status|identity|connect|dashboard`.
import { mkdirSync } from 'node:fs'
import { loadOrCreateIdentity, peerIdOfKey } from '@p2pay/core'
import type { Command } from '../../command.ts'
import { status as renderStatus } from '../../render/status.ts'
import { dashboard } from './dashboard.ts'

export const status: Command = {
  name: 'status',
  summary: "a running daemon's role, peer id, addresses, connections and its schemes' status",
  daemon: 'node',
  examples: ['p2pay status --data-dir ./.data/alice', 'p2pay status --data-dir ./.data/broker'],
  run: async o => await o.api('GET', '/v1/status'),
  render: renderStatus
}

export const identity: Command = {
  name: 'identity',
  summary: "peer id of a data dir's identity key, made if missing (so the broker can be told the judge's id first)",
  options: { 'data-dir': { type: 'string', required: true, help: 'the data dir whose identity key to read or make' } },
  examples: ['p2pay identity --data-dir ./.data/judge'],
  run: async o => {
    const dir = o.str('data-dir')!
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    return { peerId: peerIdOfKey((await loadOrCreateIdentity(dir)).publicKey.raw) }
  }
}

export const connect: Command = {
  name: 'connect',
  summary: 'have a running daemon dial a peer',
  daemon: 'node',
  options: { addr: { type: 'string', required: true, help: 'the multiaddr to dial, ending in /p2p/<peer id>' } },
  examples: ['p2pay connect --addr /ip4/192.0.2.7/tcp/4002/p2p/12D3KooW... --data-dir ./.data/alice'],
  run: async o => await o.api('POST', '/v1/connect', { addr: o.str('addr') })
}

export const COMMON: Command[] = [status, identity, connect, dashboard]
