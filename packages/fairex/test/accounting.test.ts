// The Accounting Centre: capital certificates with escrow, batched cheque
// deposits with a fee, voiding on the judge's verdict, expiry, and the
// conservation of money it shares with the PPay ledger (same accounts table).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  ErrorCode,
  P2payError,
  Table,
  Verifier,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  type Opened,
  type Signer
} from '@p2pay/core'
import { Ledger, LEDGER_TABLES, TAG as PPAY_TAG, type LedgerTables } from '@p2pay/ppay'
import {
  Accounting,
  ACCOUNTING_TABLES,
  type AccountingConfig,
  type AccountingTables,
  type DepositItem,
  type DepositResult,
  type IssueResult
} from '../src/accounting.ts'
import {
  FAIREX_TAG,
  acceptCheque,
  saleKey,
  openCertificate,
  signCertRequest,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/messages.ts'

const verifier = new Verifier(nodeEd25519())
const T0 = 1_700_000_000_000
const CERT_TTL = 60_000
const GRACE = 10_000
const FEE = 3

class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

interface Ident {
  signer: Signer
  id: string
}
async function ident(): Promise<Ident> {
  const signer = signerFor(await generateKeyPair('Ed25519'), nodeEd25519())
  return { signer, id: signer.peerId }
}

interface World {
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

async function world(over: Partial<AccountingConfig> = {}): Promise<World> {
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
  const lt = Object.fromEntries(LEDGER_TABLES.map(n => [n, new Table(`ppay-${n}`)])) as unknown as LedgerTables
  const ledger = new Ledger(lt, ac.signer, verifier, {
    coinTtlMs: 3_600_000,
    cashGraceMs: 0,
    maxLayers: 0,
    maxCoinsPerBuy: 10,
    now: clock.now
  })
  const at = {
    accounts: lt.accounts,
    ...Object.fromEntries(ACCOUNTING_TABLES.map(n => [n, new Table(`fairex-${n}`)]))
  } as unknown as AccountingTables
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
function snapshot(w: World): string {
  const tables: Record<string, Table> = {
    ...(w.ledger.t as unknown as Record<string, Table>),
    ...(w.acct.t as unknown as Record<string, Table>)
  }
  return JSON.stringify(Object.entries(tables).map(([name, t]) => [name, [...t.entries()]]))
}

const bal = (w: World, who: Ident): number => w.acct.balance(who.id)
const escrow = (w: World, cert: IssueResult): number => w.acct.certificate(cert.hash)!.escrow

/** The AC's books balance, no account is negative, and balances + outstanding coins + escrow = money topped up. */
function assertHolds(w: World): void {
  const a = w.acct.audit()
  const p = w.ledger.audit()
  assert.equal(a.holds, true, `AC books broken: ${JSON.stringify(a)}`)
  assert.equal(a.balances, p.balances)
  assert.equal(p.balances + p.outstanding + a.escrow, p.toppedUp, `conservation broken: ${JSON.stringify({ a, p })}`)
  for (const [id, acc] of w.acct.t.accounts.entries()) assert.ok(acc.balance >= 0, `negative balance of ${id}`)
}

function throwsCode(fn: () => unknown, code: string): P2payError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(
    caught instanceof P2payError,
    `expected P2payError ${code}, got ${caught === undefined ? 'no throw' : String(caught)}`
  )
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  return caught
}

/** Asserts `fn` throws `code` and that no table changed. */
function rejects(w: World, fn: () => unknown, code: string): P2payError {
  const before = snapshot(w)
  const err = throwsCode(fn, code)
  assert.equal(snapshot(w), before, `tables changed although ${code} was thrown`)
  return err
}

// ---- protocol objects ----

const hex = (): string => sha256Hex(new TextEncoder().encode(randomId(16)))
const b64 = (o: Opened<unknown>): string => toB64(o.bytes)

function certRequest(w: World, who: Ident, max: number, nonce = randomId(8), ac = w.ac.id): string {
  return b64(signCertRequest(who.signer, { ac, peer: who.id, max, nonce }))
}

function issue(w: World, who: Ident, max: number, topup = max): IssueResult {
  if (topup > 0) w.ledger.topup(who.id, topup)
  return w.acct.issueCertificate(certRequest(w, who, max))
}

interface Purchase {
  req: Opened<RequestBody>
  cheque: Opened<ChequeBody>
  item: DepositItem
}

/**
 * Messages 1.1, 2.2 and 2.3 of one purchase, as the honest parties sign them
 * (fixed form unless asked), with the provider's reservation at the AC in
 * between unless `reserve: false`.
 */
function purchase(
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
function depositRequest(
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

function deposit(w: World, by: Ident, items: DepositItem[], nonce?: string): DepositResult {
  return w.acct.deposit(depositRequest(w, by, items, nonce), items)
}

/** A one-cheque batch that must be refused with `code` and change nothing. */
function refusedItem(w: World, by: Ident, item: DepositItem, code: string): void {
  const before = snapshot(w)
  const r = deposit(w, by, [item])
  assert.equal(r.results.length, 1)
  const res = r.results[0]
  assert.equal(res.status, 'refused', JSON.stringify(res))
  if (res.status === 'refused') assert.equal(res.code, code, res.message)
  assert.deepEqual([r.paid, r.fee], [0, 0])
  assert.equal(snapshot(w), before, `tables changed although the cheque was refused ${code}`)
}

describe('capital certificates', () => {
  it(
    'issuing moves max from the balance into escrow; the certificate names ' + 'the AC, the peer, max and expiry',
    async () => {
      const w = await world()
      w.ledger.topup(w.D.id, 120)
      const r = w.acct.issueCertificate(certRequest(w, w.D, 100))
      const c = openCertificate(verifier, r.certificate, w.ac.id)
      assert.deepEqual(c.body, { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: r.serial })
      assert.equal(c.hash, r.hash)
      assert.deepEqual([r.max, r.expiry], [100, T0 + CERT_TTL])
      assert.equal(bal(w, w.D), 20)
      assert.equal(escrow(w, r), 100)
      assert.equal(w.acct.audit().escrow, 100)
      assertHolds(w)
    }
  )

  it(
    'the same request again returns the same certificate and changes ' +
      'nothing; its nonce with other content is REPLAY',
    async () => {
      const w = await world()
      w.ledger.topup(w.D.id, 300)
      const req = certRequest(w, w.D, 100, 'nonce-0001')
      const first = w.acct.issueCertificate(req)
      const before = snapshot(w)
      assert.deepEqual(w.acct.issueCertificate(req), first)
      assert.equal(snapshot(w), before)
      rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 150, 'nonce-0001')), ErrorCode.REPLAY)
      // another peer may use the same nonce: nonces are per peer
      w.ledger.topup(w.D2.id, 10)
      w.acct.issueCertificate(certRequest(w, w.D2, 10, 'nonce-0001'))
      assert.equal(bal(w, w.D), 200)
      assertHolds(w)
    }
  )

  it('refusals change nothing: INSUFFICIENT_FUNDS, over the cap, another AC, not signed by the peer', async () => {
    const w = await world()
    w.ledger.topup(w.D.id, 99)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 100)), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D2, 1)), ErrorCode.INSUFFICIENT_FUNDS)
    w.ledger.topup(w.D.id, 5000)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 1001)), ErrorCode.BAD_REQUEST)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 10, randomId(8), w.X.id)), ErrorCode.WRONG_BROKER)
    const forged = toB64(
      w.X.signer.sign(FAIREX_TAG.certRequest, { ac: w.ac.id, peer: w.D.id, max: 10, nonce: randomId(8) }, 'test').bytes
    )
    rejects(w, () => w.acct.issueCertificate(forged), ErrorCode.WRONG_SIGNER)
    rejects(w, () => w.acct.issueCertificate('not base64!'), ErrorCode.BAD_REQUEST)
    assertHolds(w)
  })
})

describe('deposit', () => {
  it(
    'a batch pays each cheque from its escrow, charges the fee once and ' +
      'credits it to the AC; a retry gets the same answer',
    async () => {
      const w = await world()
      const c1 = issue(w, w.D, 100)
      const c2 = issue(w, w.D2, 50)
      const items = [
        purchase(w, { P: w.P, D: w.D, cert: c1, price: 10 }),
        purchase(w, { P: w.P, D: w.D, cert: c1, price: 20, form: 'original' }),
        purchase(w, { P: w.P, D: w.D2, cert: c2, price: 15 })
      ].map(p => p.item)
      const req = depositRequest(w, w.P, items, 'batch-0001')
      const r = w.acct.deposit(req, items)
      assert.deepEqual(
        r.results.map(x => [x.status, x.status === 'paid' ? x.price : 0]),
        [
          ['paid', 10],
          ['paid', 20],
          ['paid', 15]
        ]
      )
      assert.deepEqual([r.paid, r.fee, r.provider], [45, FEE, w.P.id])
      assert.equal(bal(w, w.P), 45 - FEE)
      assert.equal(bal(w, w.ac), FEE)
      assert.deepEqual([escrow(w, c1), escrow(w, c2)], [70, 35])
      const rec = w.acct.cheque(w.P.id, w.D.id, (r.results[0] as { chequeSn: string }).chequeSn)!
      assert.deepEqual(
        [rec.status, rec.provider, rec.price, rec.certificate, rec.deposited?.deposit],
        ['paid', w.P.id, 10, c1.hash, r.deposit]
      )
      assertHolds(w)

      const before = snapshot(w)
      assert.deepEqual(w.acct.deposit(req, items), r)
      assert.equal(snapshot(w), before)
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.P, items.slice(0, 2), 'batch-0001'), items.slice(0, 2)),
        ErrorCode.REPLAY
      )
    }
  )

  it('batching pays: the fee is per batch, so one cheque at a time costs a fee each', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }).item])
    deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }).item])
    deposit(
      w,
      w.P2,
      [10, 10].map(price => purchase(w, { P: w.P2, D: w.D, cert: c, price }).item)
    )
    assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.ac)], [20 - 2 * FEE, 20 - FEE, 3 * FEE])
    assertHolds(w)
  })

  it('the fee is never more than was paid; a batch that paid nothing charges nothing and leaves no trace', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const r = deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 2 }).item])
    assert.deepEqual([r.paid, r.fee, bal(w, w.P), bal(w, w.ac)], [2, 2, 0, 2])
    // never reserved: nothing can pay it
    const bad = purchase(w, { P: w.P, D: w.D, cert: c, price: 5, reserve: false }).item
    const before = snapshot(w)
    const none = deposit(w, w.P, [bad, bad])
    assert.deepEqual([none.paid, none.fee, none.results.map(x => x.status)], [0, 0, ['refused', 'refused']])
    assert.equal(snapshot(w), before)
    assertHolds(w)
  })

  it('one bad cheque does not sink the batch; a serial twice in one batch pays once', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const good = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    const overdrawn = purchase(w, { P: w.P, D: w.D, cert: c, price: 101, reserve: false })
    const unsigned = purchase(w, { P: w.P, D: w.D, cert: c, price: 5 })
    unsigned.item.accept = b64(
      w.X.signer.sign(
        FAIREX_TAG.chequeAccept,
        { cheque: unsigned.cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: unsigned.cheque.body.chequeSn },
        'test'
      )
    )
    const r = deposit(w, w.P, [overdrawn.item, good.item, unsigned.item, good.item])
    assert.deepEqual(
      r.results.map(x => ('code' in x ? x.code : x.status)),
      [ErrorCode.NOT_FOUND, 'paid', ErrorCode.WRONG_SIGNER, ErrorCode.ALREADY_CASHED]
    )
    assert.deepEqual(
      r.results.map(x => x.cheque),
      [overdrawn.cheque.hash, good.cheque.hash, unsigned.cheque.hash, good.cheque.hash]
    )
    assert.deepEqual([r.paid, r.fee, bal(w, w.P), escrow(w, c)], [10, FEE, 10 - FEE, 90])
    assertHolds(w)
  })

  it(
    'a second deposit of a paid serial is ALREADY_CASHED and changes ' + 'nothing, whether the same cheque or another',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [p.item])
      refusedItem(w, w.P, p.item, ErrorCode.ALREADY_CASHED)
      // D signed the serial twice (another request and cheque, same serial): the AC will not
      // reserve it again, and the sale it has pays once
      rejects(
        w,
        () => purchase(w, { P: w.P, D: w.D, cert: c, price: 10, sn: p.cheque.body.chequeSn }),
        ErrorCode.REPLAY
      )
      const again = purchase(w, { P: w.P, D: w.D, cert: c, price: 10, sn: p.cheque.body.chequeSn, reserve: false })
      refusedItem(w, w.P, again.item, ErrorCode.ALREADY_CASHED)
      // serials are the downloader's: another downloader may use the same one
      const c2 = issue(w, w.D2, 10)
      assert.equal(
        deposit(w, w.P, [purchase(w, { P: w.P, D: w.D2, cert: c2, price: 10, sn: p.cheque.body.chequeSn }).item]).paid,
        10
      )
      assertHolds(w)
    }
  )

  it(
    'a sale over what the certificate has not promised yet is refused at ' + 'reservation, before any piece is sent',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 10, 50)
      const first = purchase(w, { P: w.P, D: w.D, cert: c, price: 7 })
      // reserved, not yet deposited: already promised. D's balance (40) does not count either
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 4 }), ErrorCode.INSUFFICIENT_FUNDS)
      deposit(w, w.P, [first.item])
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 4 }), ErrorCode.INSUFFICIENT_FUNDS)
      assert.equal(deposit(w, w.P2, [purchase(w, { P: w.P2, D: w.D, cert: c, price: 3 }).item]).paid, 3)
      assert.equal(escrow(w, c), 0)
      assertHolds(w)
    }
  )

  it(
    'expiry: no reservation after the certificate expired; a sale reserved ' +
      'in time is paid until expiry + grace, then EXPIRED',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      w.clock.t = T0 + CERT_TTL
      const inTime = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const lateToo = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      w.clock.t = T0 + CERT_TTL + 1
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 10 }), ErrorCode.EXPIRED)
      w.clock.t = T0 + CERT_TTL + GRACE
      assert.equal(deposit(w, w.P, [inTime.item]).paid, 10)
      w.clock.t = T0 + CERT_TTL + GRACE + 1
      refusedItem(w, w.P, lateToo.item, ErrorCode.EXPIRED)
      assertHolds(w)
    }
  )

  it('a sale reserved before expiry is paid although its cheque is dated after expiry (a long download)', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const req = signRequest(w.D.signer, {
      provider: w.P.id,
      downloader: w.D.id,
      ttp: w.T.id,
      fileId: hex(),
      chequeSn: randomId(16),
      ts: T0,
      price: 10
    })
    w.acct.reserve(b64(req), c.certificate)
    w.clock.t = T0 + CERT_TTL + 5
    const cheque = signCheque(w.P.signer, {
      form: 'fixed',
      provider: w.P.id,
      downloader: w.D.id,
      ttp: w.T.id,
      chequeSn: req.body.chequeSn,
      price: 10,
      ts: w.clock.t,
      hSEK: hex(),
      z: hex(),
      req: req.hash,
      certificate: c.hash,
      judge: w.J.id,
      manifest: hex(),
      keyIndex: 0
    })
    const item = { cheque: b64(cheque), accept: b64(acceptCheque(w.D.signer, cheque)), certificate: c.certificate }
    assert.equal(deposit(w, w.P, [item]).paid, 10)
    assertHolds(w)
  })

  it('a cheque dated in the future (beyond clock skew) is refused', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    refusedItem(w, w.P, purchase(w, { P: w.P, D: w.D, cert: c, price: 10, ts: T0 + 5_001 }).item, ErrorCode.BAD_REQUEST)
    assert.equal(deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10, ts: T0 + 5_000 }).item]).paid, 10)
  })

  it("who signed what: cheque not signed by P, acceptance not signed by D, depositor not P, certificate not D's or not this AC's", async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const c2 = issue(w, w.D2, 100)

    // a cheque naming P but signed by D (a downloader cannot write itself a cheque)
    const p1 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    const byD = w.D.signer.sign(FAIREX_TAG.cheque, p1.cheque.body, 'test')
    refusedItem(
      w,
      w.P,
      { ...p1.item, cheque: b64(byD), accept: b64(acceptCheque(w.D.signer, byD)) },
      ErrorCode.WRONG_SIGNER
    )

    // the acceptance signed by P itself, or by a third party
    const p2 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    const acceptBody = {
      cheque: p2.cheque.hash,
      provider: w.P.id,
      downloader: w.D.id,
      chequeSn: p2.cheque.body.chequeSn
    }
    refusedItem(
      w,
      w.P,
      { ...p2.item, accept: b64(w.P.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) },
      ErrorCode.WRONG_SIGNER
    )
    refusedItem(
      w,
      w.P,
      { ...p2.item, accept: b64(w.X.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) },
      ErrorCode.WRONG_SIGNER
    )
    // an acceptance of another cheque, or none
    const p3 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    refusedItem(w, w.P, { ...p2.item, accept: p3.item.accept }, ErrorCode.BAD_REQUEST)
    refusedItem(w, w.P, { ...p2.item, accept: undefined as unknown as string }, ErrorCode.BAD_REQUEST)

    // X deposits P's cheque (in X's own signed batch)
    refusedItem(w, w.X, p2.item, ErrorCode.WRONG_HOLDER)

    // D2's certificate under D's cheque; a certificate by another AC; a certificate forged in the AC's name
    refusedItem(
      w,
      w.P,
      { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: c2.certificate },
      ErrorCode.BAD_REQUEST
    )
    const foreign = b64(
      w.X.signer.sign(
        FAIREX_TAG.capitalCert,
        { ac: w.X.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
        'test'
      )
    )
    refusedItem(
      w,
      w.P,
      { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: foreign },
      ErrorCode.WRONG_BROKER
    )
    const forged = b64(
      w.X.signer.sign(
        FAIREX_TAG.capitalCert,
        { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
        'test'
      )
    )
    refusedItem(
      w,
      w.P,
      { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: forged },
      ErrorCode.WRONG_SIGNER
    )
    // a fixed cheque names its certificate: presenting another of D's is refused
    const c3 = issue(w, w.D, 100)
    refusedItem(w, w.P, { ...p3.item, certificate: c3.certificate }, ErrorCode.BAD_REQUEST)

    // and the honest versions pay
    assert.equal(deposit(w, w.P, [p2.item, p3.item]).paid, 20)
    assertHolds(w)
  })

  it(
    'tampered bytes are BAD_SIGNATURE; a batch that is not what its ' +
      'request lists, or a bad request, is refused whole',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const flip = (s: string, back: number): string => {
        const b = fromB64(s)
        b[b.byteLength - back] ^= 1
        return toB64(b)
      }
      // cheque body (price digits sit in it)
      refusedItem(w, w.P, { ...p.item, cheque: flip(p.item.cheque, 70) }, ErrorCode.BAD_SIGNATURE)
      refusedItem(w, w.P, { ...p.item, cheque: flip(p.item.cheque, 1) }, ErrorCode.BAD_SIGNATURE) // P's signature
      refusedItem(w, w.P, { ...p.item, accept: flip(p.item.accept, 70) }, ErrorCode.BAD_SIGNATURE)
      refusedItem(w, w.P, { ...p.item, certificate: flip(p.item.certificate, 70) }, ErrorCode.BAD_SIGNATURE)

      const other = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      // the request lists `p`, the batch carries `other`
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), [other.item]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item, other.item]), [p.item]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), 'nope'), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), [null]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(flip(depositRequest(w, w.P, [p.item]), 1), [p.item]), ErrorCode.BAD_SIGNATURE)
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.X, [p.item], randomId(8), w.P.id), [p.item]),
        ErrorCode.WRONG_SIGNER
      )
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.P, [p.item], randomId(8), w.P.id, w.X.id), [p.item]),
        ErrorCode.WRONG_BROKER
      )
      const nine = Array.from({ length: 9 }, () => p.item)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, nine), nine), ErrorCode.BAD_REQUEST)
      assert.equal(deposit(w, w.P, [p.item]).paid, 10)
      assertHolds(w)
    }
  )
})

describe('void (the judge ruled providerBan)', () => {
  const verdict = (): string => hex()

  it('before deposit: the price leaves the escrow for D, and the serial can never be deposited (FRAUD)', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 30 })
    const v = verdict()
    const r = w.acct.voidCheque(p.item.cheque, v)
    assert.deepEqual(
      [r.from, r.refunded, r.shortfall, r.verdict, r.cheque, r.key, r.price],
      ['escrow', 30, 0, v, p.cheque.hash, saleKey(w.P.id, w.D.id, p.cheque.body.chequeSn), 30]
    )
    assert.deepEqual([bal(w, w.D), escrow(w, c), bal(w, w.P)], [30, 70, 0])
    refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
    assertHolds(w)
    assert.equal(w.acct.audit().voids, 1)
  })

  it(
    'after deposit: the price is taken back from P and returned to D; ' +
      'conservation holds with coins outstanding too',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100, 150)
      // D also holds PPay coins: the broker's conservation spans both schemes
      const buy = toB64(
        w.D.signer.sign(
          PPAY_TAG.buy,
          { broker: w.ac.id, account: w.D.id, count: 2, value: 5, nonce: randomId(8) },
          'test'
        ).bytes
      )
      w.ledger.buy(buy)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 30 })
      const p2 = purchase(w, { P: w.P, D: w.D, cert: c, price: 20 })
      deposit(w, w.P, [p.item, p2.item])
      assert.deepEqual([bal(w, w.P), bal(w, w.D)], [50 - FEE, 40])
      assertHolds(w)
      const r = w.acct.voidCheque(p.item.cheque, verdict())
      assert.deepEqual([r.from, r.refunded, r.shortfall], ['provider', 30, 0])
      assert.deepEqual([bal(w, w.P), bal(w, w.D), escrow(w, c), bal(w, w.ac)], [20 - FEE, 70, 50, FEE])
      const rec = w.acct.cheque(w.P.id, w.D.id, p.cheque.body.chequeSn)!
      assert.equal(rec.status, 'void')
      assert.ok(rec.deposited != null && rec.paidAt != null, 'the payment stays on the record')
      refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
      assert.equal(w.ledger.audit().outstanding, 10)
      assertHolds(w)
    }
  )

  it(
    'after deposit, when P has spent its earnings: what is left is taken ' + 'back and the shortfall recorded',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [p.item])
      assert.equal(bal(w, w.P), 10 - FEE)
      issue(w, w.P, 4, 0) // P moves 4 of its 7 into escrow of its own
      const r = w.acct.voidCheque(p.item.cheque, verdict())
      assert.deepEqual([r.from, r.refunded, r.shortfall], ['provider', 3, 7])
      assert.deepEqual([bal(w, w.P), bal(w, w.D)], [0, 3])
      assert.deepEqual([w.acct.audit().meta.clawedBack, w.acct.audit().meta.shortfall], [3, 7])
      assertHolds(w)
    }
  )

  it(
    'voiding again returns the same record and changes nothing; ' +
      'conflicting or bad voids are refused without change',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const v = verdict()
      const first = w.acct.voidCheque(p.item.cheque, v)
      const before = snapshot(w)
      assert.deepEqual(w.acct.voidCheque(p.item.cheque, v), first)
      assert.deepEqual(
        w.acct.voidCheque(p.item.cheque, verdict()),
        first,
        'one cheque is voided once, whatever the verdict reference'
      )
      assert.equal(snapshot(w), before)

      // another cheque of P for the same sale (same request), after the void
      const other = signCheque(w.P.signer, { ...p.cheque.body, z: hex() } as ChequeBody)
      rejects(w, () => w.acct.voidCheque(b64(other), v), ErrorCode.REPLAY)
      // P's cheque naming another request than the one reserved for that sale
      const paid = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      rejects(
        w,
        () => w.acct.voidCheque(b64(signCheque(w.P.signer, { ...paid.cheque.body, req: hex() } as ChequeBody)), v),
        ErrorCode.BAD_REQUEST
      )
      // malformed verdict reference; an original-form cheque (no judge in that protocol); a cheque P did not sign
      const q = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      for (const bad of [undefined, '', 'abc', hex().toUpperCase()])
        rejects(w, () => w.acct.voidCheque(q.item.cheque, bad), ErrorCode.BAD_REQUEST)
      rejects(
        w,
        () =>
          w.acct.voidCheque(
            purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original', reserve: false }).item.cheque,
            v
          ),
        ErrorCode.BAD_REQUEST
      )
      rejects(
        w,
        () => w.acct.voidCheque(b64(w.D.signer.sign(FAIREX_TAG.cheque, q.cheque.body, 'test')), v),
        ErrorCode.WRONG_SIGNER
      )
      assertHolds(w)
    }
  )

  it('a cheque of a sale never reserved: nothing to refund, and that sale can never be reserved or paid', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10, reserve: false })
    const r = w.acct.voidCheque(p.item.cheque, verdict())
    assert.deepEqual([r.from, r.refunded, bal(w, w.D), escrow(w, c)], ['escrow', 0, 0, 100])
    rejects(w, () => w.acct.reserve(b64(p.req), c.certificate), ErrorCode.FRAUD)
    refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
    assertHolds(w)
  })
})

describe("reservation (the provider, with D's message 1.1, before it sends pieces)", () => {
  const request = (w: World, P: Ident, D: Ident, price: number, sn = randomId(16)): Opened<RequestBody> =>
    signRequest(D.signer, {
      provider: P.id,
      downloader: D.id,
      ttp: w.T.id,
      fileId: hex(),
      chequeSn: sn,
      ts: w.clock.t,
      price
    })

  it(
    'promises the price to this sale only; the same request again returns ' +
      'the same reservation and changes nothing',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 50)
      const req = request(w, w.P, w.D, 30)
      const r = w.acct.reserve(b64(req), c.certificate)
      assert.deepEqual(
        [r.key, r.price, r.certificate, r.until],
        [saleKey(w.P.id, w.D.id, req.body.chequeSn), 30, c.hash, T0 + CERT_TTL + GRACE]
      )
      assert.deepEqual([w.acct.certificate(c.hash)!.reserved, escrow(w, c), bal(w, w.D)], [30, 50, 0])
      const before = snapshot(w)
      assert.deepEqual(w.acct.reserve(b64(req), c.certificate), r)
      assert.equal(snapshot(w), before)
      assertHolds(w)
    }
  )

  it("refusals change nothing: not enough left, another request on the serial, another peer's or unknown certificate, forged or tampered request", async () => {
    const w = await world()
    const c = issue(w, w.D, 50)
    const c2 = issue(w, w.D2, 50)
    const req = request(w, w.P, w.D, 30)
    w.acct.reserve(b64(req), c.certificate)
    rejects(w, () => w.acct.reserve(b64(request(w, w.P2, w.D, 21)), c.certificate), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(w, () => w.acct.reserve(b64(request(w, w.P, w.D, 5, req.body.chequeSn)), c.certificate), ErrorCode.REPLAY)
    rejects(w, () => w.acct.reserve(b64(req), c2.certificate), ErrorCode.WRONG_OWNER)
    const unknown = b64(
      w.ac.signer.sign(
        FAIREX_TAG.capitalCert,
        { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
        'test'
      )
    )
    rejects(w, () => w.acct.reserve(b64(request(w, w.P, w.D, 5)), unknown), ErrorCode.NOT_FOUND)
    const forged = w.X.signer.sign(FAIREX_TAG.request, { ...request(w, w.P, w.D, 5).body }, 'test')
    rejects(w, () => w.acct.reserve(b64(forged), c.certificate), ErrorCode.WRONG_SIGNER)
    const flip = (s: string): string => {
      const b = fromB64(s)
      b[b.byteLength - 70] ^= 1
      return toB64(b)
    }
    rejects(w, () => w.acct.reserve(flip(b64(request(w, w.P, w.D, 5))), c.certificate), ErrorCode.BAD_SIGNATURE)
    rejects(w, () => w.acct.reserve('%%%', c.certificate), ErrorCode.BAD_REQUEST)
    assert.equal(w.acct.reserve(b64(request(w, w.P2, w.D, 20)), c.certificate).price, 20)
    assertHolds(w)
  })

  it(
    'attack: one certificate shown to two providers. The second is refused ' +
      'before it sends anything; the first is paid in full',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 10)
      const first = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 10 }), ErrorCode.INSUFFICIENT_FUNDS)
      assert.equal(deposit(w, w.P, [first.item]).paid, 10)
      assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.D), escrow(w, c)], [10 - FEE, 0, 0, 0])
      assertHolds(w)
    }
  )

  it("attack: D and a sybil provider P2 reuse the serial of D's honest purchase from P; a verdict against P2 voids only P2's sale", async () => {
    const w = await world()
    const c = issue(w, w.D, 40)
    const honest = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    const sn = honest.cheque.body.chequeSn
    // P2 "cheats" on purpose and D complains: the judge bans P2
    const sybil = purchase(w, { P: w.P2, D: w.D, cert: c, price: 10, sn })
    const v = w.acct.voidCheque(sybil.item.cheque, hex())
    assert.deepEqual([v.provider, v.refunded], [w.P2.id, 10])
    // P's sale is untouched: deposited and paid
    assert.equal(w.acct.cheque(w.P.id, w.D.id, sn)!.status, 'reserved')
    assert.equal(deposit(w, w.P, [honest.item]).paid, 10)
    assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.D), escrow(w, c)], [10 - FEE, 0, 10, 20])
    assertHolds(w)
  })
})

describe('complaint window (holdMs)', () => {
  const HOLD = 5_000

  it('a deposited fixed cheque is held, then paid with the batch fee; an original one is paid at once', async () => {
    const w = await world({ holdMs: HOLD })
    const c = issue(w, w.D, 100)
    const fixed = [
      purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }),
      purchase(w, { P: w.P, D: w.D, cert: c, price: 20 })
    ]
    const r = deposit(
      w,
      w.P,
      fixed.map(p => p.item)
    )
    assert.deepEqual(
      [r.results.map(x => x.status), r.paid, r.held, r.fee, r.releaseAt],
      [['held', 'held'], 0, 30, 0, T0 + HOLD]
    )
    assert.deepEqual(
      [bal(w, w.P), escrow(w, c), w.acct.certificate(c.hash)!.held, w.acct.audit().held],
      [0, 100, 30, 30]
    )
    assertHolds(w)
    const before = snapshot(w)
    assert.deepEqual(w.acct.releaseHeld(T0 + HOLD - 1), [])
    assert.equal(snapshot(w), before)
    w.clock.t = T0 + HOLD
    assert.deepEqual(w.acct.releaseHeld(), [{ deposit: r.deposit, provider: w.P.id, paid: 30, fee: FEE }])
    assert.deepEqual(
      [bal(w, w.P), bal(w, w.ac), escrow(w, c), w.acct.cheque(w.P.id, w.D.id, fixed[0].cheque.body.chequeSn)!.status],
      [30 - FEE, FEE, 70, 'paid']
    )
    assert.deepEqual(w.acct.releaseHeld(), [], 'released once')
    assertHolds(w)
    const orig = deposit(w, w.P2, [purchase(w, { P: w.P2, D: w.D, cert: c, price: 5, form: 'original' }).item])
    assert.deepEqual([orig.paid, orig.held, bal(w, w.P2)], [5, 0, 5 - FEE])
    assertHolds(w)
  })

  it(
    'attack: P deposits and tries to move the proceeds at once; a ' +
      'providerBan inside the window refunds D in full from the escrow',
    async () => {
      const w = await world({ holdMs: HOLD })
      const c = issue(w, w.D, 100)
      const cheat = purchase(w, { P: w.P, D: w.D, cert: c, price: 40 })
      const honest = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [cheat.item, honest.item])
      // nothing to spend: a certificate of its own is refused
      rejects(w, () => w.acct.issueCertificate(certRequest(w, w.P, 1)), ErrorCode.INSUFFICIENT_FUNDS)
      w.clock.advance(HOLD - 1)
      const v = w.acct.voidCheque(cheat.item.cheque, hex())
      assert.deepEqual([v.from, v.refunded, v.shortfall], ['escrow', 40, 0])
      assert.deepEqual([bal(w, w.D), bal(w, w.P)], [40, 0])
      assertHolds(w)
      w.clock.advance(1)
      assert.deepEqual(
        w.acct.releaseHeld().map(h => [h.paid, h.fee]),
        [[10, FEE]]
      )
      assert.deepEqual([bal(w, w.P), bal(w, w.D), escrow(w, c)], [10 - FEE, 40, 50])
      assertHolds(w)
    }
  )

  it("held proceeds survive the certificate's expiry; only what was neither held nor paid goes back", async () => {
    const w = await world({ holdMs: GRACE * 3 })
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 25 })
    purchase(w, { P: w.P2, D: w.D, cert: c, price: 5 }) // reserved, never deposited: lapses
    w.clock.t = T0 + CERT_TTL
    deposit(w, w.P, [p.item])
    assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1), [
      { certificate: c.hash, peer: w.D.id, amount: 75 }
    ])
    assert.deepEqual([bal(w, w.D), escrow(w, c)], [75, 25])
    assertHolds(w)
    w.clock.t = T0 + CERT_TTL + GRACE * 3
    assert.equal(w.acct.releaseHeld()[0].paid, 25)
    assert.deepEqual([bal(w, w.P), escrow(w, c)], [25 - FEE, 0])
    assertHolds(w)
  })
})

describe('releaseExpired', () => {
  it(
    'returns unused escrow after expiry + grace, once; later deposits ' + 'under that certificate are EXPIRED',
    async () => {
      const w = await world()
      const c1 = issue(w, w.D, 100)
      w.clock.advance(30_000)
      const c2 = issue(w, w.D2, 50)
      const p = purchase(w, { P: w.P, D: w.D, cert: c1, price: 40 })
      deposit(w, w.P, [p.item])
      const unpaid = purchase(w, { P: w.P, D: w.D, cert: c1, price: 10 })

      const before = snapshot(w)
      assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE), [])
      assert.equal(snapshot(w), before)

      const out = w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1)
      assert.deepEqual(out, [{ certificate: c1.hash, peer: w.D.id, amount: 60 }])
      assert.deepEqual([bal(w, w.D), escrow(w, c1), escrow(w, c2)], [60, 0, 50])
      assert.deepEqual(w.acct.certificate(c1.hash)!.released, { amount: 60, at: T0 + CERT_TTL + GRACE + 1 })
      assertHolds(w)
      assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1), [], 'released once')

      // the clock of the deposit is still inside the grace, but the escrow is gone
      refusedItem(w, w.P, unpaid.item, ErrorCode.EXPIRED)
      // a void of an undeposited cheque now finds no escrow: D already has it back
      const r = w.acct.voidCheque(unpaid.item.cheque, hex())
      assert.deepEqual([r.refunded, bal(w, w.D)], [0, 60])

      w.clock.t = T0 + 30_000 + CERT_TTL + GRACE + 1
      assert.deepEqual(w.acct.releaseExpired(), [{ certificate: c2.hash, peer: w.D2.id, amount: 50 }])
      assert.equal(w.acct.audit().escrow, 0)
      assertHolds(w)
    }
  )
})
