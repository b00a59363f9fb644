// The broker's AggSign books: the accounts it shares with PPay, the escrow of
// each certificate, and the running totals. The ledger checks every input
// first and then moves money only through these, so the audit can hold them
// to account: balances + escrow change only as money enters or leaves the
// broker (custody = escrow), and each certificate's escrow is its limit less
// what left it.
import { addMoney, isMoney, sumMoney } from '@p2pay/core'
import { EMPTY_META, type CertRecord, type LedgerMeta, type LedgerTables } from './ledger-records.ts'

export interface LedgerAudit {
  balances: number
  escrow: number
  /** value in this scheme's custody outside the accounts: the escrow */
  custody: number
  /** nothing negative or out of range, each escrow = limit - paid out of it, the totals agree */
  holds: boolean
  certs: number
  coins: number
  frauds: number
  meta: LedgerMeta
}

/** How a debt was met: from a certificate's escrow, then its peer's balance, and what was left short. */
export interface Settlement {
  fromEscrow: number
  fromBalance: number
  shortfall: number
}

export class LedgerBooks {
  readonly t: LedgerTables

  constructor(t: LedgerTables) {
    this.t = t
  }

  meta(): LedgerMeta {
    return { ...EMPTY_META, ...this.t.meta.get('meta') }
  }

  bump(delta: Partial<LedgerMeta>): void {
    const m = { ...this.meta() }
    for (const [k, v] of Object.entries(delta) as Array<[keyof LedgerMeta, number]>)
      m[k] = addMoney(m[k], v, `the ${k} total`)
    this.t.meta.set('meta', m)
  }

  balance(account: string): number {
    return this.t.accounts.get(account)?.balance ?? 0
  }

  credit(account: string, delta: number): void {
    if (delta === 0) return
    // every caller checked first; reaching this is a bug, and the service rolls the call back
    if (this.balance(account) + delta < 0) throw new Error(`balance of ${account} would go negative`)
    this.t.accounts.set(account, { balance: addMoney(this.balance(account), delta, `balance of ${account}`) })
  }

  cert(hash: string): CertRecord {
    const c = this.t.certs.get(hash)
    if (c == null) throw new Error(`certificate ${hash} is not in the books`)
    return c
  }

  /**
   * Pays `holder` up to `value` out of certificate `certHash`'s escrow, then out
   * of its peer's balance (never below zero); the rest is short. `to` says which
   * running total the escrow part counts under.
   */
  settle(certHash: string, holder: string, value: number, to: 'paid' | 'fraudPaid'): Settlement {
    const c = this.cert(certHash)
    const fromEscrow = Math.min(value, c.escrow)
    // a peer paying itself moves nothing: what its escrow lacks stays short
    const fromBalance = c.peer === holder ? 0 : Math.min(value - fromEscrow, Math.max(0, this.balance(c.peer)))
    const shortfall = value - fromEscrow - fromBalance
    this.t.certs.set(certHash, { ...c, escrow: c.escrow - fromEscrow, [to]: c[to] + fromEscrow })
    this.credit(c.peer, -fromBalance)
    this.credit(holder, fromEscrow + fromBalance)
    this.bump({ [to]: fromEscrow, shortfall })
    return { fromEscrow, fromBalance, shortfall }
  }

  audit(): LedgerAudit {
    const values = [...this.t.accounts.values()].map(a => a.balance)
    const certs = [...this.t.certs.values()]
    const sum = (xs: number[]): number => xs.reduce((n, x) => n + x, 0)
    const [balances, escrow] = [sum(values), sum(certs.map(c => c.escrow))]
    const books = certs.every(
      c =>
        [c.limit, c.escrow, c.paid, c.fraudPaid, c.released, c.minted].every(isMoney) &&
        c.escrow === c.limit - c.paid - c.fraudPaid - c.released
    )
    const m = this.meta()
    // past 2^53 a sum can match by rounding: every figure and sum must be a whole amount within MAX_MONEY
    const sums = sumMoney(values) !== undefined && sumMoney(certs.map(c => c.escrow)) !== undefined
    const holds =
      books && sums && Object.values(m).every(isMoney) && escrow === m.escrowed - m.paid - m.fraudPaid - m.released
    return {
      balances,
      escrow,
      custody: escrow,
      holds,
      certs: this.t.certs.size,
      coins: this.t.coins.size,
      frauds: this.t.frauds.size,
      meta: m
    }
  }
}
