// WhoPay (Wei, Chen, Smith, Vo 2006): anonymous transferable coins. For now its crypto: BBS04 group signatures.
export * from './core/bbs04.ts'
