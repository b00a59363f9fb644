// The reusable capital certificate (--cert-value): purchases that find it
// short at once wait for one new certificate and claim from it, instead of
// each escrowing its own (whose remainders would stay locked until expiry).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CertificateWallet } from '../src/net/certificates.ts'
import type { NodeContext } from '../src/net/node-context.ts'
import { world, type World } from './accounting-fixtures.ts'

/** D's node as the wallet sees it: its AC calls answered by the real accounting centre, one event-loop turn later */
function nodeOf(w: World, calls: string[]): NodeContext {
  const ac = {
    call: async (_peer: unknown, method: string, args: { request: string }) => {
      calls.push(method)
      await new Promise(resolve => setImmediate(resolve))
      return w.acct.issueCertificate(args.request)
    }
  }
  return { c: { signer: w.D.signer, broker: { id: w.ac.id } }, me: w.D.id, ac } as unknown as NodeContext
}

describe('reusable certificate', () => {
  it('concurrent purchases short of a certificate share one new one, then one more when it runs out', async () => {
    const w = await world({ certTtlMs: 3_600_000 })
    // the wallet keeps a certificate while it is far from its expiry, on the wall clock
    w.clock.t = Date.now()
    w.ledger.topup(w.D.id, 1000)
    const calls: string[] = []
    const n = nodeOf(w, calls)
    const wallet = new CertificateWallet(100)
    const first = await Promise.all(Array.from({ length: 8 }, async () => await wallet.take(n, 10)))
    assert.equal(calls.length, 1)
    assert.equal(new Set(first).size, 1)
    assert.equal(w.acct.t.certificates.size, 1)
    // 80 of 100 claimed: three more at once need 30, so one new certificate, again shared
    const more = await Promise.all(Array.from({ length: 3 }, async () => await wallet.take(n, 10)))
    assert.equal(calls.length, 2)
    assert.equal(w.acct.t.certificates.size, 2)
    assert.equal(more.filter(c => c === first[0]).length, 2)
    assert.equal(new Set(more).size, 2)
  })
})
