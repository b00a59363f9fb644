// A broker's AggSign ledger over in-memory tables for the unit tests: peers
// topped up and certified through it (with real proofs of possession), and
// the conservation check every test runs after each step.
import assert from 'node:assert/strict'
import { Table, memoryTables, toB64, type Account } from '@p2pay/core'
import { proveKey } from '../src/core/bls.ts'
import { Ledger } from '../src/core/ledger.ts'
import type { LedgerTables } from '../src/core/ledger-records.ts'
import { LEDGER_TABLES } from '../src/tables.ts'
import { CERT_TTL, Clock, MAX_LAYERS, T0, peer, type Hop, type Peer } from './fixtures.ts'

export const CASH_GRACE = 60_000
export const MAX_CERT_TTL = 7 * CERT_TTL

export type Holder = Hop & Peer

export interface World {
  clock: Clock
  broker: Peer
  ledger: Ledger
  toppedUp: number
}

export function ledgerTables(): LedgerTables {
  return { ...memoryTables(LEDGER_TABLES), accounts: new Table<Account>('ppay-accounts') }
}

export async function world(maxLayers = MAX_LAYERS): Promise<World> {
  const clock = new Clock()
  const broker = await peer()
  const ledger = new Ledger(ledgerTables(), broker.signer, {
    maxLayers,
    maxCertTtlMs: MAX_CERT_TTL,
    cashGraceMs: CASH_GRACE,
    now: clock.now
  })
  return { clock, broker, ledger, toppedUp: 0 }
}

/** Money in from outside (the accounts belong to the broker; PPay's ledger tops them up). */
export function topup(w: World, p: { id: string }, amount: number): void {
  w.ledger.t.accounts.set(p.id, { balance: w.ledger.books.balance(p.id) + amount })
  w.toppedUp += amount
}

export const b64 = (b: Uint8Array): string => toB64(b)

/** `p` certified at the ledger with `limit` escrowed (topped up first by `topupBy`). */
export function certified(w: World, p: Peer, limit: number, topupBy = limit): Holder {
  if (topupBy > 0) topup(w, p, topupBy)
  const r = w.ledger.certify(p.id, b64(p.bls.publicKey), b64(proveKey(p.bls.secretKey, p.id)), limit, T0 + CERT_TTL)
  const cert = w.ledger.lookup(r.hash)!
  return { ...p, cert }
}

/** A minter with `limit` and `n` receivers with none, all certified at `w`. */
export async function holders(w: World, n: number, limit = 1000): Promise<Holder[]> {
  const ps = await Promise.all(Array.from({ length: n + 1 }, peer))
  return ps.map((p, i) => certified(w, p, i === 0 ? limit : 0))
}

export const bal = (w: World, p: { id: string }): number => w.ledger.books.balance(p.id)

/** balances + escrow = money topped up, and the ledger's own books hold. */
export function conserved(w: World): void {
  const a = w.ledger.audit()
  assert.ok(a.holds, `books do not hold: ${JSON.stringify(a)}`)
  assert.equal(a.balances + a.custody, w.toppedUp, `balances ${a.balances} + escrow ${a.custody} != topped up`)
}
