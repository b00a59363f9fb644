// The broker's WhoPay books: the accounts it shares with PPay, the purses deposits credit, and the running totals.
// The ledger checks every input first and then moves money only through these, so the audit can hold them to
// account: coins sold and not yet deposited + purse balances = custody, and balances + custody change only as
// money enters or leaves the broker.
import { addMoney, isMoney, sumMoney } from '@p2pay/core'
import { EMPTY_META, type LedgerMeta, type LedgerTables } from './ledger-records.ts'

export interface LedgerAudit {
  /** sum of the accounts */
  balances: number
  /** value of the coins sold and not deposited */
  outstanding: number
  /** sum of the purse balances */
  purses: number
  /** value in WhoPay's custody outside the accounts: outstanding + purses */
  custody: number
  /** nothing negative or out of range; outstanding, purses and fraud payments agree with the totals */
  holds: boolean
  coins: number
  frauds: number
  meta: LedgerMeta
}

/** How a compensation was met: from the cheater's account, and what was left short. */
export interface Settlement {
  paid: number
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

  purse(purse: string): number {
    return this.t.purses.get(purse)?.balance ?? 0
  }

  creditPurse(purse: string, delta: number): void {
    if (delta === 0) return
    if (this.purse(purse) + delta < 0) throw new Error(`purse ${purse} would go negative`)
    this.t.purses.set(purse, { balance: addMoney(this.purse(purse), delta, `purse ${purse}`) })
  }

  /** Pays `purse` up to `value` from `cheater`'s account, never below zero; the rest is recorded short. */
  compensate(cheater: string, purse: string, value: number): Settlement {
    const paid = Math.min(value, Math.max(0, this.balance(cheater)))
    const shortfall = value - paid
    this.credit(cheater, -paid)
    this.creditPurse(purse, paid)
    this.bump({ fraudPaid: paid, shortfall })
    return { paid, shortfall }
  }

  audit(): LedgerAudit {
    const values = [...this.t.accounts.values()].map(a => a.balance)
    const coins = [...this.t.coins.values()]
    const purseValues = [...this.t.purses.values()].map(p => p.balance)
    const outstandingValues = coins.filter(c => c.state === 'outstanding').map(c => c.value)
    const frauds = [...this.t.frauds.values()]
    const paidOut = frauds.flatMap(f => f.compensated.map(c => c.value))
    const short = frauds.flatMap(f => f.shortfall.map(c => c.value))
    const all = [values, purseValues, outstandingValues, paidOut, short]
    const sums = all.map(sumMoney)
    const m = this.meta()
    // past 2^53 a sum can match by rounding: every figure and sum must be a whole amount within MAX_MONEY
    const whole =
      all.every(xs => xs.every(isMoney)) && sums.every(s => s !== undefined) && Object.values(m).every(isMoney)
    const [balances, purses, outstanding, fraudPaid, shortfall] = sums.map(s => s ?? NaN)
    const holds =
      whole &&
      outstanding === m.purchased - m.deposited &&
      purses === m.deposited + m.fraudPaid - m.withdrawn &&
      fraudPaid === m.fraudPaid &&
      shortfall === m.shortfall
    return {
      balances,
      outstanding,
      purses,
      custody: outstanding + purses,
      holds,
      coins: coins.length,
      frauds: frauds.length,
      meta: m
    }
  }
}
