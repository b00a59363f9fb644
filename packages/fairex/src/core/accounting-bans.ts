// What a judge's ban means for money at the AC. The rule: a banned provider's
// deposits are accepted, but their proceeds stay in escrow until the ban ends
// (so a downloader it wronged in the meantime is refunded in full from them by
// the void); once paid out, they first cover what its voided cheques could not
// claw back (the shortfall), oldest first, and only the rest is the provider's.
// Nothing is paid twice: a held sale is paid out once, or voided.
import type { AcBooks } from './accounting-books.ts'
import type { AcBanRecord } from './accounting-records.ts'

/** A ban record of the configured judge, opened and checked by the caller. */
export interface BanNotice {
  hash: string
  until: number
}

const rowOf = (books: AcBooks, provider: string): AcBanRecord =>
  books.t.bans.get(provider) ?? { provider, until: 0, bans: [], owed: [] }

/** Records the judge's ban of `provider`: its proceeds are held until the latest ban ends. */
export function noteBan(books: AcBooks, provider: string, ban: BanNotice): void {
  const row = rowOf(books, provider)
  if (row.bans.includes(ban.hash)) return
  books.t.bans.set(provider, { ...row, until: Math.max(row.until, ban.until), bans: [...row.bans, ban.hash] })
}

/** Records what a void could not claw back from `provider`: its later proceeds pay it first. */
export function noteShortfall(books: AcBooks, provider: string, key: string, downloader: string, amount: number): void {
  if (amount <= 0) return
  const row = rowOf(books, provider)
  books.t.bans.set(provider, { ...row, owed: [...row.owed, { key, downloader, amount }] })
}

/** Until when `provider`'s proceeds are held at `now` because of a ban; 0 when they are not. */
export function bannedUntil(books: AcBooks, provider: string, now: number): number {
  const until = books.t.bans.get(provider)?.until ?? 0
  return until > now ? until : 0
}

/**
 * Pays what `provider`'s voided cheques still owe from its balance, oldest
 * first and as far as it reaches; called right after its proceeds are credited.
 */
export function payOwed(books: AcBooks, provider: string): number {
  const row = books.t.bans.get(provider)
  if (row == null || row.owed.length === 0) return 0
  let paid = 0
  const owed: AcBanRecord['owed'] = []
  for (const o of row.owed) {
    const x = Math.min(o.amount, books.balance(provider))
    if (x > 0) {
      books.credit(provider, -x)
      books.credit(o.downloader, x)
      paid += x
      const sale = books.t.cheques.get(o.key)
      if (sale?.void != null)
        books.t.cheques.set(o.key, { ...sale, void: { ...sale.void, recovered: (sale.void.recovered ?? 0) + x } })
    }
    if (o.amount > x) owed.push({ ...o, amount: o.amount - x })
  }
  books.t.bans.set(provider, { ...row, owed })
  if (paid > 0) books.bump({ recovered: paid })
  return paid
}
