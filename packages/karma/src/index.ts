// Karma (Vishnumurthy et al. 2003): no central authority; bank(A) = the k
// peers closest in the kad-dht keyspace to H("karma|" + A) keep A's balance,
// transfers go bank(A) -> bank(B) and count on strict majorities, bank-sets
// hand accounts over as peers come and go, epochs rescale balances. The pure
// core is in core/, the libp2p and LevelDB side in net/; this file is the
// package's face: its types, its factory and how `p2pay node` hosts it.
import type { ConfigOf, SchemeFactory, SchemeModule } from '@p2pay/core'
import { cheatRoutes } from './cheats.ts'
import { DEFAULT_KARMA, checkConfig, type KarmaConfig } from './core/config.ts'
import type { KarmaComponents } from './net/context.ts'
import { KarmaService } from './net/service.ts'
import { KARMA_OPTIONS, karmaInit } from './options.ts'

export * from './core/account.ts'
export * from './core/bankset.ts'
export * from './core/config.ts'
export * from './core/epoch.ts'
export * from './core/epoch-messages.ts'
export * from './core/handover.ts'
export * from './core/majority.ts'
export * from './core/member.ts'
export * from './core/member-records.ts'
export * from './core/messages.ts'
export * from './core/pow.ts'
export * from './core/state-messages.ts'
export { KarmaErrorCode } from './errors.ts'
export { KARMA_KINDS, KIND, type KarmaKind } from './kinds.ts'
export { KARMA_TABLES } from './net/tables.ts'
export { KARMA_PROTOCOL } from './net/protocols.ts'
export { KARMA_OPTIONS } from './options.ts'
export { KarmaService, type KarmaComponents }
export { karmaSettler } from './net/karma-settle.ts'
export type { KarmaContext } from './net/context.ts'

/** A node's Karma: account holder and bank-set member. Throws BAD_REQUEST for settings out of bounds. */
export function karma(init: Partial<KarmaConfig> = {}): SchemeFactory<KarmaComponents> {
  const cfg = checkConfig({ ...DEFAULT_KARMA, ...init })
  return components => {
    const service = new KarmaService(components, cfg)
    // fault injection for test swarms: mounted only by a daemon started with --allow-cheats
    return Object.assign(service, { cheats: () => cheatRoutes(service) })
  }
}

/** How `p2pay node` hosts Karma. */
export const karmaModule = {
  name: 'karma',
  options: KARMA_OPTIONS,
  create: cfg => karma(karmaInit(cfg))
} satisfies SchemeModule<ConfigOf<typeof KARMA_OPTIONS>, KarmaComponents>
