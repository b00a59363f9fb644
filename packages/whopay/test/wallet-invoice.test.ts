// A payee's open invoices are capped: past the cap an invoice is refused BUSY and no invoiced seed is dropped (a
// coin may already be bound to its key and on its way); a coin still arrives on the oldest invoice after a flood.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, memoryTables } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { signIssue } from '../src/core/coin.ts'
import { Wallet } from '../src/core/wallet.ts'
import { WALLET_TABLES } from '../src/tables.ts'
import { backend, peer, verifier } from './core-fixtures.ts'
import { buy, topup, world } from './ledger-fixtures.ts'

describe('wallet: the invoice cap', () => {
  it('answers BUSY past the cap and keeps every seed; the oldest invoice is still paid', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 100)
    const wallet = new Wallet(memoryTables(WALLET_TABLES), { verifier, backend, broker: w.broker.id, now: w.clock.now })
    const cap = 4
    const made = Array.from({ length: cap }, () => wallet.invoice(10, cap))
    const before = new Map([...wallet.t.invoices.entries()].map(([k, v]) => [k, v.seed]))
    for (let i = 0; i < 3; i++) throwsCode(() => wallet.invoice(10, cap), ErrorCode.BUSY)
    assert.deepEqual(new Map([...wallet.t.invoices.entries()].map(([k, v]) => [k, v.seed])), before)
    assert.equal(wallet.openInvoices(), cap)
    // the first invoice, made before the flood, is paid
    const { cert } = buy(w, owner, 10)
    const h = wallet.accept(cert.b64, signIssue(owner.signer, cert, made[0].key).b64)
    assert.equal(h.seed, made[0].seed)
    // a paid invoice frees a place; a renewal key (no cap) is never refused
    assert.equal(wallet.openInvoices(), cap - 1)
    wallet.invoice(10, cap)
    throwsCode(() => wallet.invoice(10, cap), ErrorCode.BUSY)
    assert.ok(wallet.invoice(10).key)
  })
})
