// What the accounting centre's tests share: a world of parties with a PPay
// ledger and an AC over one accounts table, a clock, the objects of a purchase
// as its honest parties sign them, deposits, and the checks that no table
// changed on a refusal and that money is conserved.
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  Verifier,
  fromB64,
  memoryTables,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  type Opened,
  type P2payError,
  type Signer
} from '@p2pay/core'
import { Ledger, LEDGER_TABLES } from '@p2pay/ppay'
import { rejects as rejectsTables, snapshot as snapshotTables } from '@p2pay/test-utils'
import { Accounting } from '../src/core/accounting.ts'
import type { AccountingConfig, DepositItem, DepositResult, IssueResult } from '../src/core/accounting-records.ts'
import {
  FAIREX_TAG,
  acceptCheque,
  signCertRequest,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/core/messages.ts'
import { ACCOUNTING_TABLES } from '../src/net/tables.ts'

export const verifier = new Verifier(nodeEd25519())
export const T0 = 1_700_000_000_000
export const CERT_TTL = 60_000
export const GRACE = 10_000
export const FEE = 3

export class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export interface Ident {
  signer: Signer
  id: string
}
export async function ident(): Promise<Ident> {
  const signer = signerFor(await generateKeyPair('Ed25519'), nodeEd25519())
  return { signer, id: signer.peerId }
}

export interface World {
  clock: Clock
  ac: Ident
  ledger: Ledger
  acct: Accounting
  P: Ident
  P2: Ident
  D: Ident
  D2: Ident
  T: Ident
  J: Ident
  X: Ident
}

export async function world(over: Partial<AccountingConfig> = {}): Promise<World> {
  const clock = new Clock()
  const [ac, P, P2, D, D2, T, J, X] = await Promise.all([
    ident(),
    ident(),
    ident(),
    ident(),
    ident(),
    ident(),
    ident(),
    ident()
  ])
  const lt = memoryTables(LEDGER_TABLES)
  const ledger = new Ledger(lt, ac.signer, verifier, {
    coinTtlMs: 3_600_000,
    cashGraceMs: 0,
    maxLayers: 0,
    maxCoinsPerBuy: 10,
    now: clock.now
  })
  const at = { ...memoryTables(ACCOUNTING_TABLES), accounts: lt.accounts }
  const acct = new Accounting(at, ac.signer, verifier, {
    now: clock.now,
    certTtlMs: CERT_TTL,
    maxCertValue: 1000,
    depositFee: FEE,
    depositGraceMs: GRACE,
    maxDepositBatch: 8,
    maxClockSkewMs: 5_000,
    holdMs: 0,
    ...over
  })
  return { clock, ac, ledger, acct, P, P2, D, D2, T, J, X }
}

// ---- state ----

/** Every table of the broker (PPay's and the AC's), as JSON. */
export const snapshot = (w: World): string => snapshotTables({ ...w.ledger.t, ...w.acct.t })

export const bal = (w: World, who: Ident): number => w.acct.balance(who.id)
export const escrow = (w: World, cert: IssueResult): number => w.acct.certificate(cert.hash)!.escrow

/** The AC's books balance, no account is negative, and balances + outstanding coins + escrow = money topped up. */
export function assertHolds(w: World): void {
  const a = w.acct.audit()
  const p = w.ledger.audit()
  assert.equal(a.holds, true, `AC books broken: ${JSON.stringify(a)}`)
  assert.equal(a.balances, p.balances)
  assert.equal(p.balances + p.outstanding + a.escrow, p.toppedUp, `conservation broken: ${JSON.stringify({ a, p })}`)
  for (const [id, acc] of w.acct.t.accounts.entries()) assert.ok(acc.balance >= 0, `negative balance of ${id}`)
}

/** Asserts `fn` throws `code` and that no table changed. */
export const rejects = (w: World, fn: () => unknown, code: string): P2payError =>
  rejectsTables({ ...w.ledger.t, ...w.acct.t }, fn, code)

// ---- protocol objects ----

export const hex = (): string => sha256Hex(new TextEncoder().encode(randomId(16)))
export const b64 = (o: Opened<unknown>): string => toB64(o.bytes)

export function certRequest(w: World, who: Ident, max: number, nonce = randomId(8), ac = w.ac.id): string {
  return b64(signCertRequest(who.signer, { ac, peer: who.id, max, nonce }))
}

export function issue(w: World, who: Ident, max: number, topup = max): IssueResult {
  if (topup > 0) w.ledger.topup(who.id, topup)
  return w.acct.issueCertificate(certRequest(w, who, max))
}

export interface Purchase {
  req: Opened<RequestBody>
  cheque: Opened<ChequeBody>
  item: DepositItem
}

/**
 * Messages 1.1, 2.2 and 2.3 of one purchase, as the honest parties sign them
 * (fixed form unless asked), with the provider's reservation at the AC in
 * between unless `reserve: false`.
 */
export function purchase(
  w: World,
  o: {
    P: Ident
    D: Ident
    cert: IssueResult
    price: number
    sn?: string
    ts?: number
    form?: 'fixed' | 'original'
    over?: Partial<ChequeBody>
    reserve?: boolean
  }
): Purchase {
  const ts = o.ts ?? w.clock.t
  const req = signRequest(o.D.signer, {
    provider: o.P.id,
    downloader: o.D.id,
    ttp: w.T.id,
    fileId: hex(),
    chequeSn: o.sn ?? randomId(16),
    ts,
    price: o.price
  })
  const common = {
    provider: o.P.id,
    downloader: o.D.id,
    ttp: w.T.id,
    chequeSn: req.body.chequeSn,
    price: o.price,
    ts,
    hSEK: hex(),
    z: hex()
  }
  const body: ChequeBody =
    o.form === 'original'
      ? ({ form: 'original', ...common, hKP: hex(), ...o.over } as OriginalChequeBody)
      : ({
          form: 'fixed',
          ...common,
          req: req.hash,
          certificate: o.cert.hash,
          judge: w.J.id,
          manifest: hex(),
          keyIndex: 0,
          ...o.over
        } as FixedChequeBody)
  if (o.reserve !== false) w.acct.reserve(b64(req), o.cert.certificate)
  const cheque = signCheque(o.P.signer, body)
  const accept = acceptCheque(o.D.signer, cheque)
  return { req, cheque, item: { cheque: b64(cheque), accept: b64(accept), certificate: o.cert.certificate } }
}

/** A deposit request signed by `by` (the provider, unless a test says otherwise) over exactly these items. */
export function depositRequest(
  w: World,
  by: Ident,
  items: DepositItem[],
  nonce = randomId(8),
  provider = by.id,
  ac = w.ac.id
): string {
  const cheques = items.map(i => sha256Hex(fromB64(i.cheque)))
  return toB64(by.signer.sign(FAIREX_TAG.deposit, { ac, provider, nonce, cheques }, 'test').bytes)
}

export function deposit(w: World, by: Ident, items: DepositItem[], nonce?: string): DepositResult {
  return w.acct.deposit(depositRequest(w, by, items, nonce), items)
}

/** A one-cheque batch that must be refused with `code` and change nothing. */
export function refusedItem(w: World, by: Ident, item: DepositItem, code: string): void {
  const before = snapshot(w)
  const r = deposit(w, by, [item])
  assert.equal(r.results.length, 1)
  const res = r.results[0]
  assert.equal(res.status, 'refused', JSON.stringify(res))
  if (res.status === 'refused') assert.equal(res.code, code, res.message)
  assert.deepEqual([r.paid, r.fee], [0, 0])
  assert.equal(snapshot(w), before, `tables changed although the cheque was refused ${code}`)
}
