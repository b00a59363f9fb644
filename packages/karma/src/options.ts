// The flags Karma adds to the daemons that host it (`p2pay node`), and the
// settings they make; `karma()` checks them (checkConfig) before anything opens.
import type { ConfigOf, Spec } from '@p2pay/core'
import type { KarmaConfig } from './core/config.ts'

export const KARMA_OPTIONS = {
  'karma-k': { type: 'number', default: 5, help: 'Karma bank-set size k (the same on every node of a network)' },
  'karma-pow-bits': {
    type: 'number',
    default: 16,
    help: 'Karma join puzzle: leading zero bits demanded of a new account'
  },
  'karma-initial': {
    type: 'number',
    default: 1000,
    help: 'Karma given to a new account, and the average per active peer epochs keep'
  },
  'karma-epoch': {
    type: 'number',
    default: 0,
    help: 'Karma epoch length in ms (balances are rescaled at each boundary); 0 = off'
  },
  'karma-sync-ms': {
    type: 'number',
    default: 5000,
    help: 'how often Karma notices are resent and bank-set changes handed over'
  },
  'karma-cache-ms': {
    type: 'number',
    default: 600000,
    help: 'how long a DHT answer for a Karma bank-set is reused (peers that connect or disconnect are seen at once)'
  }
} as const satisfies Spec

export function karmaInit(cfg: ConfigOf<typeof KARMA_OPTIONS>): Partial<KarmaConfig> {
  return {
    k: cfg['karma-k'],
    powBits: cfg['karma-pow-bits'],
    initialKarma: cfg['karma-initial'],
    epochMs: cfg['karma-epoch'],
    syncMs: cfg['karma-sync-ms'],
    bankCacheMs: cfg['karma-cache-ms']
  }
}
