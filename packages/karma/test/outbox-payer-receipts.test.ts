// A member of bank(A) past the grace period of a debit's notices asks the
// payer, once for all its rows, for the credit receipts bank(B) pushed it,
// before it asks each member of bank(B) whether it credited: a receipt counts
// only when its signature, side, request, payee and signer all check.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError } from '@p2pay/core'
import type { KarmaCalls } from '../src/net/context.ts'
import { makeReceipt } from '../src/core/messages.ts'
import { K, duties, joinedPair, byId, type Ident, type Net } from './fixtures.ts'

describe("notice delivery: the payer's credit receipts", () => {
  /**
   * A member of bank(A) past the grace period of a debit's notices, whose payer answers `creditsOf` with
   * `receipts(requestHash)`; bank(B)'s members answer that they credited nothing and take no notice (unreachable), so
   * the row's `delivered` is what the payer's receipts proved.
   */
  async function pastGrace(
    receipts: (w: Net, A: Ident, B: Ident, bankB: string[], hash: string) => string[],
    transfers = 1
  ) {
    const asked: string[] = []
    const payerAsked: string[][] = []
    let answer: (hash: string) => string[] = () => []
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const d = duties(w, w.bank(A.id)[0], [], {
      send: async () => {},
      call: async (m: string, op: string, args: any) => {
        if (op === 'creditsOf') {
          assert.equal(m, A.id, 'the payer is asked')
          payerAsked.push(args.hashes)
          return { receipts: Object.fromEntries(args.hashes.map((h: string) => [h, answer(h)])) }
        }
        if (op === 'credited') {
          asked.push(m)
          return { credited: [] }
        }
        throw new P2payError(ErrorCode.UNREACHABLE, 'not reached')
      }
    } as unknown as KarmaCalls)
    for (let i = 0; i < transfers; i++) await d.debits.debit(w.request(A, B.id, 5).b64)
    const rows = [...d.ctx.t.outbox.values()]
    answer = h => receipts(w, A, B, bankB, h)
    for (const row of rows) d.ctx.t.outbox.set(row.requestHash, { ...row, at: Date.now() - 60_000 })
    await d.tick()
    // the next tick asks bank(B) again about what it still owes, not the payer
    await d.tick()
    return { d, row: rows[0], bankB, asked, payerAsked }
  }
  const credit = (w: Net, m: string, account: string, requestHash: string, side: 'credit' | 'debit' = 'credit') =>
    makeReceipt(byId(w, m).signer, { account, requestHash, side, epoch: 0 }).b64

  it('a member of bank(B) whose credit receipt the payer kept is served without a question', async () => {
    const { d, row, bankB, asked, payerAsked } = await pastGrace((w, A, B, bankB, h) =>
      bankB.slice(0, 4).map(m => credit(w, m, B.id, h))
    )
    assert.deepEqual(payerAsked, [[row.requestHash]], 'one question to the payer for its rows, over two ticks')
    assert.deepEqual(d.ctx.t.outbox.get(row.requestHash)?.delivered, bankB.slice(0, 4).sort())
    assert.deepEqual(asked, [bankB[4], bankB[4]], 'bank(B) is asked only about the member without a receipt')
  })

  it('receipts that prove nothing (forged, another side, request, payee or signer) change nothing', async () => {
    const { d, row, bankB, asked } = await pastGrace((w, A, B, bankB, h) => {
      const outsider = w.peers.find(p => !bankB.includes(p.id))!.id
      const flipped = Buffer.from(credit(w, bankB[0], B.id, h), 'base64')
      flipped[flipped.length - 1] ^= 1
      return [
        flipped.toString('base64'),
        credit(w, bankB[1], B.id, h, 'debit'),
        credit(w, bankB[2], B.id, 'ab'.repeat(32)),
        credit(w, bankB[3], A.id, h),
        credit(w, outsider, B.id, h),
        'not a receipt'
      ]
    })
    assert.deepEqual(d.ctx.t.outbox.get(row.requestHash)?.delivered, [], 'no member counted as served')
    assert.deepEqual(asked.sort(), [...bankB, ...bankB].sort(), 'every member of bank(B) is asked as before')
  })

  it('rows that share their members of bank(B) go to those members, not to the payer', async () => {
    const { d, bankB, asked, payerAsked } = await pastGrace(
      (w, A, B, bankB, h) => bankB.map(m => credit(w, m, B.id, h)),
      K
    )
    assert.deepEqual(payerAsked, [], 'k calls to bank(B) for k rows: no receipts to check')
    assert.deepEqual(asked.sort(), [...bankB, ...bankB].sort(), 'one question to each member a tick, for every row')
    assert.equal(d.ctx.t.outbox.size, bankB.length)
  })
})
