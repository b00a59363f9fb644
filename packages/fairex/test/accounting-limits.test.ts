// The accounting centre and the bound on money (MAX_MONEY, 2^50). Balances and
// escrow are bounded by the money topped up at the ledger; the AC's running
// totals grow with every certificate, so the AC refuses a certificate that
// would take the money ever put in escrow past the bound (every other total is
// part of it). The audit does not hold for books past the bound.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, MAX_MONEY } from '@p2pay/core'
import { EMPTY_AC_META, type CertificateRecord } from '../src/core/accounting-records.ts'
import { CERT_TTL, GRACE, world, bal, assertHolds, rejects, certRequest } from './accounting-fixtures.ts'

const CERT = 1e12 // the most one certificate may cover (messages.ts)

describe('accounting limits', () => {
  it('a certificate taking the money ever escrowed past MAX_MONEY is BAD_REQUEST and changes nothing', async () => {
    const w = await world({ maxCertValue: CERT })
    w.ledger.topup(w.D.id, CERT)
    // the same money escrowed again and again: each certificate expires and hands it back
    const fits = Math.floor(MAX_MONEY / CERT)
    for (let i = 0; i < fits; i++) {
      w.acct.issueCertificate(certRequest(w, w.D, CERT))
      w.clock.advance(CERT_TTL + GRACE + 1)
      assert.equal(w.acct.releaseExpired().length, 1)
    }
    assert.equal(w.acct.audit().meta.issued, fits * CERT)
    const e = rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, CERT)), ErrorCode.BAD_REQUEST)
    assert.equal(e.details?.limit, MAX_MONEY)
    // what is left under the bound can still be escrowed, and not a unit more
    const rest = MAX_MONEY - fits * CERT
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, rest + 1)), ErrorCode.BAD_REQUEST)
    assert.equal(w.acct.issueCertificate(certRequest(w, w.D, rest)).max, rest)
    assert.equal(w.acct.audit().meta.issued, MAX_MONEY)
    assert.equal(bal(w, w.D), CERT - rest)
    assertHolds(w)
  })

  it('the audit does not hold when a balance, an escrow or a running total is past MAX_MONEY', async () => {
    const past = 2 * Number.MAX_SAFE_INTEGER
    // a balance past 2^53 (as two topups of MAX_SAFE_INTEGER once left it)
    const a = await world()
    a.acct.t.accounts.set(a.D.id, { balance: past })
    assert.equal(a.acct.audit().holds, false)

    // two balances in range whose sum is not
    const b = await world()
    b.acct.t.accounts.set(b.D.id, { balance: MAX_MONEY })
    b.acct.t.accounts.set(b.P.id, { balance: MAX_MONEY })
    assert.equal(b.acct.audit().holds, false)

    // a certificate escrowing more than the bound, its books otherwise consistent
    const c = await world()
    const cert: CertificateRecord = {
      hash: 'c'.repeat(64),
      serial: 'serial-0001',
      peer: c.D.id,
      max: past,
      expiry: 0,
      issuedAt: 0,
      escrow: past,
      reserved: 0,
      held: 0,
      paid: 0,
      voidReleased: 0,
      cert: ''
    }
    c.acct.t.certificates.set(cert.hash, cert)
    c.acct.t.meta.set('meta', { ...EMPTY_AC_META, issued: past })
    assert.equal(c.acct.audit().holds, false)

    // running totals past the bound, though their difference (the escrow) is 0
    const d = await world()
    d.acct.t.meta.set('meta', { ...EMPTY_AC_META, issued: past, released: past })
    assert.equal(d.acct.audit().holds, false)
  })
})
