// The AC's books: the broker's account balances it shares with PPay, the escrow
// each capital certificate holds, and the running totals. Every AC operation
// (accounting.ts, accounting-deposit.ts) checks its input first and then moves
// money only through these, so the audit below can hold them to account.
import { EMPTY_AC_META, type AccountingTables, type AcMeta } from './accounting-records.ts'

/** What the AC must account for, and whether its own books hold. */
export interface AcAudit {
  balances: number
  escrow: number
  held: number
  holds: boolean
  certificates: number
  cheques: number
  voids: number
  meta: AcMeta
}

export class AcBooks {
  readonly t: AccountingTables

  constructor(t: AccountingTables) {
    this.t = t
  }

  meta(): AcMeta {
    return this.t.meta.get('meta') ?? EMPTY_AC_META
  }

  bump(delta: Partial<AcMeta>): void {
    const m = { ...this.meta() }
    for (const [k, v] of Object.entries(delta) as Array<[keyof AcMeta, number]>) m[k] += v
    this.t.meta.set('meta', m)
  }

  balance(account: string): number {
    return this.t.accounts.get(account)?.balance ?? 0
  }

  credit(account: string, delta: number): void {
    const next = this.balance(account) + delta
    // every caller checked first; reaching this is a bug, and the service rolls the call back
    if (next < 0) throw new Error(`balance of ${account} would go negative`)
    this.t.accounts.set(account, { balance: next })
  }

  /** Moves `price` of a certificate's escrow out: to the provider (paid) or back to the owner (void). */
  spendEscrow(certHash: string, price: number, from: 'reserved' | 'held', to: 'paid' | 'voidReleased'): void {
    const c = this.t.certificates.get(certHash)!
    this.t.certificates.set(certHash, { ...c, [from]: c[from] - price, escrow: c.escrow - price, [to]: c[to] + price })
  }

  /**
   * What the AC must account for: every balance plus the escrow it holds.
   * `holds` checks the AC's own books: each certificate's escrow is its max less
   * what left it and covers what it promised, the escrow total matches the
   * running totals, and no balance is negative. The broker adds PPay's
   * outstanding coins for conservation.
   */
  audit(): AcAudit {
    let balances = 0
    let negative = false
    for (const a of this.t.accounts.values()) {
      balances += a.balance
      if (a.balance < 0) negative = true
    }
    let escrow = 0
    let held = 0
    let books = true
    for (const r of this.t.certificates.values()) {
      escrow += r.escrow
      held += r.held
      if (r.escrow !== r.max - r.paid - r.voidReleased - (r.released?.amount ?? 0)) books = false
      if (r.reserved < 0 || r.held < 0 || r.reserved + r.held > r.escrow) books = false
    }
    let voids = 0
    for (const c of this.t.cheques.values()) if (c.status === 'void') voids++
    const m = this.meta()
    const holds = books && !negative && escrow === m.issued - m.paid - m.released - m.voidReleased
    return {
      balances,
      escrow,
      held,
      holds,
      certificates: this.t.certificates.size,
      cheques: this.t.cheques.size,
      voids,
      meta: m
    }
  }
}
