// The fair-exchange file market (Zuo & Li 2005, with the survey's fix): files
// sold piece by piece against cheques on capital certificates, a TTP for
// disputes, and the fixed protocol's judge. The pure core is in core/, the
// libp2p and LevelDB side in net/; this file is the package's face: its types,
// its four factories (the broker's accounting centre, the TTP, the judge, a
// node's market) and how daemons host them.
import type { SchemeFactory, SchemeModule } from '@p2pay/core'
import { cheatRoutes } from './cheats.ts'
import { AccountingService, type AccountingComponents, type AccountingInit } from './net/accounting-service.ts'
import { DisputeService, type DisputeComponents } from './net/dispute-service.ts'
import { JudgmentService, type JudgmentComponents, type JudgmentInit } from './net/judgment-service.ts'
import type { FairexNodeComponents, FairexNodeInit } from './net/node-context.ts'
import { FairexNodeService } from './net/node-service.ts'
import {
  ACCOUNTING_OPTIONS,
  DISPUTE_OPTIONS,
  FAIREX_NODE_OPTIONS,
  JUDGMENT_OPTIONS,
  accountingInit,
  fairexNodeInit,
  judgmentInit
} from './options.ts'

export * from './core/merkle.ts'
export * from './core/pieces.ts'
export * from './core/manifest.ts'
export * from './core/keypiece.ts'
export * from './core/ecies.ts'
export * from './core/zbox.ts'
export * from './core/messages.ts'
export * from './core/message-relations.ts'
export {
  PIECE_MISMATCH,
  type ComplaintMessage,
  type Message1_1,
  type Message1_2,
  type Message2_2,
  type Message2_3,
  type Message2_4,
  type Message3_1,
  type Refusal,
  type SaleForm
} from './core/sale-messages.ts'
export * from './core/sale-provider.ts'
export * from './core/sale-downloader.ts'
export * from './core/accounting-records.ts'
export type { AcAudit } from './core/accounting-books.ts'
export * from './core/accounting.ts'
export * from './core/dispute.ts'
export * from './core/judgment-records.ts'
export * from './core/judgment.ts'
export { hashFile, readPiece, readPieceFrom } from './net/file-pieces.ts'
export type * from './net/node-records.ts'
export type { VoidJob, VoidState } from './net/judgment-voids.ts'
export { FAIREX_KINDS, type FairexKind } from './kinds.ts'
export { FAIREX_PROTOCOL } from './net/protocols.ts'
export { ACCOUNTING_TABLES, DISPUTE_TABLES, FAIREX_NODE_TABLES, JUDGMENT_TABLES } from './net/tables.ts'
export { ACCOUNTING_OPTIONS, DISPUTE_OPTIONS, FAIREX_NODE_OPTIONS, JUDGMENT_OPTIONS } from './options.ts'
export { AccountingService, type AccountingComponents, type AccountingInit }
export { DisputeService, type DisputeComponents }
export { JudgmentService, type JudgmentComponents, type JudgmentInit }
export { FairexNodeService, type FairexNodeComponents, type FairexNodeInit }

/** The broker's side: capital certificates, reservations, deposits, voids, and the escrow behind them. */
export function fairexAccounting(init: AccountingInit): SchemeFactory<AccountingComponents> {
  return components => new AccountingService(components, init)
}

/** The TTP: resolves disputes (3.1-3.3). */
export function fairexDispute(): SchemeFactory<DisputeComponents> {
  return components => new DisputeService(components)
}

/** The judge of the fixed protocol: verdicts, ban records, and the voids they ask of the AC. */
export function fairexJudgment(init: JudgmentInit): SchemeFactory<JudgmentComponents> {
  return components => new JudgmentService(components, init)
}

/** A node's side: shares, sells, buys, disputes, complains, deposits, honours bans. */
export function fairexNode(init: FairexNodeInit): SchemeFactory<FairexNodeComponents> {
  return components => {
    const service = new FairexNodeService(components, init)
    // fault injection for test swarms: mounted only by a daemon started with --allow-cheats
    return Object.assign(service, { cheats: () => cheatRoutes(service) })
  }
}

/** How `p2pay broker` hosts the file market: its accounting centre. */
export const fairexAccountingModule = {
  name: 'fairex',
  options: ACCOUNTING_OPTIONS,
  create: cfg => fairexAccounting(accountingInit(cfg))
} satisfies SchemeModule<Parameters<typeof accountingInit>[0], AccountingComponents>

/** How `p2pay ttp` hosts the file market: its disputes. */
export const fairexDisputeModule = {
  name: 'fairex',
  options: DISPUTE_OPTIONS,
  create: () => fairexDispute()
} satisfies SchemeModule<unknown, DisputeComponents>

/** How `p2pay judge` hosts the file market: its judgments. */
export const fairexJudgmentModule = {
  name: 'fairex',
  options: JUDGMENT_OPTIONS,
  create: cfg => fairexJudgment(judgmentInit(cfg))
} satisfies SchemeModule<Parameters<typeof judgmentInit>[0], JudgmentComponents>

/** How `p2pay node` hosts the file market: sharing, selling and buying files. */
export const fairexNodeModule = {
  name: 'fairex',
  options: FAIREX_NODE_OPTIONS,
  create: cfg => fairexNode(fairexNodeInit(cfg))
} satisfies SchemeModule<Parameters<typeof fairexNodeInit>[0], FairexNodeComponents>
