// WhoPay (Wei, Chen, Smith, Vo 2006): anonymous transferable coins. For now its crypto: BBS04 group signatures.
export * from './core/bbs04.ts'
// core
export * from './errors.ts'
export * from './kinds.ts'
export * from './core/messages.ts'
export * from './core/holder.ts'
export * from './core/coin.ts'
export * from './core/evidence.ts'
// group
export * from './core/group-pool.ts'
export * from './core/group-record.ts'
export * from './core/opener.ts'
export * from './net/group-tables.ts'
export * from './net/group-protocols.ts'
export {
  GroupService,
  type GroupServiceComponents,
  type GroupServiceInit,
  type OpenResult
} from './net/group-service.ts'
export { GroupClient, fetchGroup, type GroupClientComponents, type GroupClientInit } from './net/group-client.ts'
export type { GroupInfo, Membership } from './net/group-client.ts'
export { OpenerService, whopayOpener, whopayOpenerModule } from './net/opener-service.ts'
export type { OpenerComponents, OpenerInit } from './net/opener-service.ts'
