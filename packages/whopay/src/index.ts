// WhoPay (Wei, Chen, Smith, Vo 2006): anonymous transferable coins. For now its crypto: BBS04 group signatures.
export * from './core/bbs04.ts'
// core
export * from './errors.ts'
export * from './kinds.ts'
export * from './core/messages.ts'
export * from './core/holder.ts'
export * from './core/coin.ts'
export * from './core/evidence.ts'
