// Karma's settler of journaled transfers: a transfer is settled from the
// karma-sent row its own id was written on, never from another transfer with
// the same payee and amount (in flight, or pending at a crash too).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, memoryTables, type PaymentEntry, type SettleContext } from '@p2pay/core'
import { karmaSettler } from '../src/net/karma-settle.ts'
import { makeTransfer } from '../src/core/messages.ts'
import { SERVICE_TABLES } from '../src/net/tables.ts'
import type { KarmaService } from '../src/net/service.ts'
import { ident, type Ident } from './fixtures.ts'

function entry(id: string, peer: string, amount: number, created: number): PaymentEntry {
  return {
    id,
    scheme: 'karma',
    op: 'transfer',
    peer,
    amount,
    state: 'pending',
    created,
    updated: created,
    deadline: created + 60_000
  }
}

/** the settler reads the account's karma-sent rows; done rows are never relayed */
async function payer(): Promise<{
  me: Ident
  service: KarmaService
  sent: ReturnType<typeof memoryTables<typeof SERVICE_TABLES>>['sent']
}> {
  const me = await ident()
  const t = memoryTables(SERVICE_TABLES)
  return { me, service: { ctx: { t } } as unknown as KarmaService, sent: t.sent }
}

const ctxOf = (entries: PaymentEntry[], now: number, answering = false): SettleContext => ({
  now,
  entries: () => entries,
  ...(answering ? { answering } : {})
})

describe('karma settle', () => {
  it('two transfers of one amount to one payee: each is settled by its own row only', async () => {
    const { me, service, sent } = await payer()
    const P = (await ident()).id
    const now = Date.now()
    const A = entry('karma-A-00001', P, 5, now)
    const B = entry('karma-B-00001', P, 5, now)
    // B was signed and completed; A was refused before it signed anything, or the node crashed first
    const req = makeTransfer(me.signer, { to: P, amount: 5, nonce: 1, epoch: 1, ts: now })
    sent.set(req.hash, {
      request: req.b64,
      requestHash: req.hash,
      to: P,
      amount: 5,
      nonce: 1,
      status: 'done',
      at: now,
      debitedBy: [],
      creditedBy: [],
      payment: B.id
    })
    const s = karmaSettler(service)
    const refused = await s.settle!(
      { ...A, error: { code: ErrorCode.NOT_FOUND, message: 'unknown peer' } },
      ctxOf([A, B], now, true)
    )
    assert.equal(refused?.state, 'failed')
    assert.equal(refused?.error?.code, ErrorCode.NOT_FOUND)
    // after a crash, in id order: A takes nothing, B is the one paid
    const a = await s.settle!(A, ctxOf([A, B], now))
    assert.equal(a?.state, 'failed')
    const b = await s.settle!(B, ctxOf([A, B], now))
    assert.equal(b?.state, 'succeeded')
    assert.equal((b?.result as { requestHash: string }).requestHash, req.hash)
  })
})
