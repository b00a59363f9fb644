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

/** How a compensation was met: back from the cheater's purse, from the cheaters' accounts, and what was short. */
export interface Settlement {
  reclaimed: number
  paid: number
  /** what each cheater's account paid, in order */
  taken: Array<{ account: string; value: number }>
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

  /**
   * Pays `purse` up to `value`: first back from `fromPurse` (the purse the cheater's own deposit of the coin
   * credited), then from each cheater's account in turn, never below zero; the rest is recorded short.
   */
  compensate(cheaters: string[], purse: string, value: number, fromPurse?: string): Settlement {
    let left = value
    let reclaimed = 0
    if (fromPurse !== undefined && fromPurse !== purse) {
      reclaimed = Math.min(left, Math.max(0, this.purse(fromPurse)))
      this.creditPurse(fromPurse, -reclaimed)
      this.creditPurse(purse, reclaimed)
      left -= reclaimed
    }
    let paid = 0
    const taken: Settlement['taken'] = []
    for (const cheater of new Set(cheaters)) {
      const take = Math.min(left, Math.max(0, this.balance(cheater)))
      if (take === 0) continue
      this.credit(cheater, -take)
      this.creditPurse(purse, take)
      left -= take
      paid += take
      taken.push({ account: cheater, value: take })
    }
    this.bump({ reclaimed, fraudPaid: paid, shortfall: left })
    return { reclaimed, paid, taken, shortfall: left }
  }

  audit(): LedgerAudit {
    const values = [...this.t.accounts.values()].map(a => a.balance)
    const coins = [...this.t.coins.values()]
    const purseValues = [...this.t.purses.values()].map(p => p.balance)
    const outstandingValues = coins.filter(c => c.state === 'outstanding').map(c => c.value)
    const frauds = [...this.t.frauds.values()]
    const paidOut = frauds.flatMap(f => f.compensated.map(c => c.value))
    const short = frauds.flatMap(f => f.shortfall.map(c => c.value))
    const back = frauds.flatMap(f => (f.reclaimed ?? []).map(c => c.value))
    const all = [values, purseValues, outstandingValues, paidOut, short, back]
    const sums = all.map(sumMoney)
    const m = this.meta()
    // past 2^53 a sum can match by rounding: every figure and sum must be a whole amount within MAX_MONEY
    const whole =
      all.every(xs => xs.every(isMoney)) && sums.every(s => s !== undefined) && Object.values(m).every(isMoney)
    const [balances, purses, outstanding, fraudPaid, shortfall, reclaimed] = sums.map(s => s ?? NaN)
    const holds =
      whole &&
      outstanding === m.purchased - m.deposited - m.redeemed &&
      purses === m.deposited + m.fraudPaid - m.withdrawn &&
      fraudPaid === m.fraudPaid &&
      shortfall === m.shortfall &&
      reclaimed === m.reclaimed
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
