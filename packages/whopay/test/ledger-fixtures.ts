// A broker's WhoPay ledger over in-memory tables for the unit tests: accounts topped up from outside, coins bought
// through it, holder requests shown the way the service shows them (opened, group signature verified), and the
// conservation check every test runs after each step.
import assert from 'node:assert/strict'
import { Table, memoryTables, type Account } from '@p2pay/core'
import type * as bbs from '../src/core/bbs04.ts'
import { openCoinCert, openShown, signAnswer, signIssue, type CoinCert, type ShownCoin } from '../src/core/coin.ts'
import { newCoinKey, type CoinKey } from '../src/core/holder.ts'
import { Ledger } from '../src/core/ledger.ts'
import type { LedgerTables } from '../src/core/ledger-records.ts'
import { TAG, type HolderSigned, type HolderTag } from '../src/core/messages.ts'
import { LEDGER_TABLES } from '../src/tables.ts'
import { COIN_TTL, Clock, groupVerify, member, peer, request, verifier, type Peer } from './core-fixtures.ts'

export const DEPOSIT_GRACE = 60_000

export interface World {
  clock: Clock
  broker: Peer
  ledger: Ledger
  toppedUp: number
}

export function ledgerTables(): LedgerTables {
  return { ...memoryTables(LEDGER_TABLES), accounts: new Table<Account>('ppay-accounts') }
}

export async function world(): Promise<World> {
  const clock = new Clock()
  const broker = await peer()
  const ledger = new Ledger(ledgerTables(), broker.signer, verifier, {
    coinTtlMs: COIN_TTL,
    maxCoinValue: 1_000_000,
    depositGraceMs: DEPOSIT_GRACE,
    now: clock.now
  })
  return { clock, broker, ledger, toppedUp: 0 }
}

/** Money in from outside (the accounts belong to the broker; PPay's ledger tops them up). */
export function topup(w: World, p: { id: string }, amount: number): void {
  w.ledger.t.accounts.set(p.id, { balance: w.ledger.books.balance(p.id) + amount })
  w.toppedUp += amount
}

/** Balances + custody = what was topped up, and the books agree with themselves. */
export function conserved(w: World): void {
  const a = w.ledger.audit()
  assert.ok(a.holds, `audit does not hold: ${JSON.stringify(a)}`)
  assert.equal(a.balances + a.custody, w.toppedUp, 'money created or lost')
}

export const tables = (w: World): object => w.ledger.t

/** A coin `owner` bought at `w`, its key and opened certificate. */
export function buy(w: World, owner: Peer, value = 10): { cert: CoinCert; key: CoinKey } {
  const key = newCoinKey()
  return { cert: certOf(w, w.ledger.purchase(owner.id, key.id, value).cert), key }
}

export const certOf = (w: World, b64: string): CoinCert =>
  openCoinCert(verifier, b64, { broker: w.broker.id }, 'whopay-purchase')

/** A coin as its holder shows it with `req`, opened like the service does, its group signature verified. */
export function show(
  w: World,
  cert: CoinCert,
  binding: string | undefined,
  req: HolderSigned,
  tags: HolderTag[]
): ShownCoin {
  const s = openShown(
    verifier,
    { cert: cert.b64, binding, request: req },
    { broker: w.broker.id },
    tags,
    'whopay-deposit'
  )
  for (const g of s.groups) assert.ok(groupVerify(g.digest, g.sig), 'group signature')
  return s
}

/** A holder of a coin: its coin key at `seq`, the binding naming it (none at seq 0), its group member key. */
export interface Holding {
  cert: CoinCert
  key: CoinKey
  seq: number
  binding?: string
  m: bbs.MemberKey
}

export function issued(owner: Peer, cert: CoinCert, m = member()): Holding {
  const key = newCoinKey()
  return { cert, key, seq: 1, binding: signIssue(owner.signer, cert, key.id).b64, m }
}

/** The holder's request of `tag` to `dest`, shown to the ledger. */
export function ask(w: World, h: Holding, tag: HolderTag, dest: string, at?: number): ShownCoin {
  const at0 = { coin: h.cert.coin, gen: h.cert.gen, seq: h.seq }
  return show(w, h.cert, h.binding, request(h.key, h.m, tag, at0, dest, at), [tag])
}

export { TAG }

/** The holder's transfer answered by the owner: the next holding (seq + 1, a fresh key, `next`'s member key). */
export function viaOwner(w: World, owner: Peer, h: Holding, next = member()): { holding: Holding; shown: ShownCoin } {
  const key = newCoinKey()
  const shown = ask(w, h, TAG.transfer, key.id)
  const b = signAnswer(owner.signer, 'owner', h.cert, shown.request, 'whopay-transfer')
  return { holding: { cert: h.cert, key, seq: h.seq + 1, binding: b.b64, m: next }, shown }
}

/** The holder's transfer answered by the broker (the downtime path). */
export function viaBroker(w: World, h: Holding, next = member()): Holding {
  const key = newCoinKey()
  const r = w.ledger.downtimeTransfer(ask(w, h, TAG.transfer, key.id))
  return { cert: h.cert, key, seq: h.seq + 1, binding: r.binding, m: next }
}
