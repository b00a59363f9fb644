// The AC's books: the broker's account balances it shares with PPay, the escrow
// each capital certificate holds, and the running totals. Every AC operation
// (accounting.ts, accounting-deposit.ts) checks its input first and then moves
// money only through these, so the audit below can hold them to account.
import { addMoney, isMoney, sumMoney } from '@p2pay/core'
import { EMPTY_AC_META, type AccountingTables, type AcMeta, type CertificateRecord } from './accounting-records.ts'

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
    // totals added by later releases start at 0 in an older data dir
    return { ...EMPTY_AC_META, ...this.t.meta.get('meta') }
  }

  bump(delta: Partial<AcMeta>): void {
    const m = { ...this.meta() }
    for (const [k, v] of Object.entries(delta) as Array<[keyof AcMeta, number]>)
      m[k] = addMoney(m[k], v, `the ${k} total`)
    this.t.meta.set('meta', m)
  }

  balance(account: string): number {
    return this.t.accounts.get(account)?.balance ?? 0
  }

  credit(account: string, delta: number): void {
    // every caller checked first; reaching this is a bug, and the service rolls the call back
    if (this.balance(account) + delta < 0) throw new Error(`balance of ${account} would go negative`)
    // within the bound while the money topped up is: money only moves between balances and escrow here
    this.t.accounts.set(account, { balance: addMoney(this.balance(account), delta, `balance of ${account}`) })
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
   * running totals, and every balance, escrow, total and sum of them is a
   * whole amount within MAX_MONEY (past 2^53 a sum can match by rounding).
   * The broker adds PPay's outstanding coins for conservation.
   */
  audit(): AcAudit {
    const values = [...this.t.accounts.values()].map(a => a.balance)
    const certs = [...this.t.certificates.values()]
    const sum = (xs: number[]): number => xs.reduce((n, x) => n + x, 0)
    const [balances, escrow, held] = [sum(values), sum(certs.map(r => r.escrow)), sum(certs.map(r => r.held))]
    const books = certs.every(
      r =>
        inRange(r) &&
        r.escrow === r.max - r.paid - r.voidReleased - (r.released?.amount ?? 0) &&
        r.reserved + r.held <= r.escrow
    )
    let voids = 0
    for (const c of this.t.cheques.values()) if (c.status === 'void') voids++
    const m = this.meta()
    const sums = sumMoney(values) !== undefined && sumMoney(certs.map(r => r.escrow)) !== undefined
    const holds =
      books && sums && Object.values(m).every(isMoney) && escrow === m.issued - m.paid - m.released - m.voidReleased
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

/** Every figure of a certificate is a whole amount within MAX_MONEY. */
const inRange = (r: CertificateRecord): boolean =>
  [r.max, r.escrow, r.reserved, r.held, r.paid, r.voidReleased, r.released?.amount ?? 0].every(isMoney)
