// Notices that share a frame (op `many`) are handled one by one as if each had
// come alone, and a request or notice the service opened is not opened again
// by the member's books, unless what it opened is other bytes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, type RpcContext } from '@p2pay/core'
import { openNotice, openTransfer } from '../src/core/messages.ts'
import { karmaHandlers, MAX_BATCH } from '../src/net/protocols.ts'
import { joinedPair, verifier, throwsCode } from './fixtures.ts'

/** The handlers over duties whose notice handler records what it got (and fails on 'bad'). */
function handlersRecording(got: Array<{ notice: unknown; sender?: string }>): ReturnType<typeof karmaHandlers> {
  const duties = {
    reconcile: { check: () => {} },
    credits: {
      notice: async (notice: unknown, sender?: string) => {
        if (notice === 'bad') throw new Error('bad notice')
        got.push({ notice, sender })
        return { status: 'counted' }
      }
    }
  }
  return karmaHandlers(duties as any, {} as any, {} as any, 1000)
}

describe('notices sharing a frame', () => {
  const rc: RpcContext = { remotePeer: 'sender' }

  it('each goes to the notice handler with the sending peer; one that fails stops none of the others', async () => {
    const got: Array<{ notice: unknown; sender?: string }> = []
    const h = handlersRecording(got)
    await h.many({ op: 'notice', list: [{ notice: 'a' }, { notice: 'bad' }, { notice: 'c' }] }, rc)
    assert.deepEqual(got, [
      { notice: 'a', sender: 'sender' },
      { notice: 'c', sender: 'sender' }
    ])
  })

  it("goes to the handler the served table holds at the time (a test swarm's cheat replaces it there)", async () => {
    const got: Array<{ notice: unknown; sender?: string }> = []
    const served: Record<string, (a: any, c: RpcContext) => unknown> = {}
    const duties = { reconcile: { check: () => {} }, credits: { notice: async () => ({ status: 'counted' }) } }
    Object.assign(served, karmaHandlers(duties as any, {} as any, {} as any, 1000, served))
    served.notice = (a: any, c: RpcContext) => got.push({ notice: a.notice, sender: c.remotePeer })
    await served.many({ op: 'notice', list: [{ notice: 'a' }] }, rc)
    assert.deepEqual(got, [{ notice: 'a', sender: 'sender' }])
  })

  it('carries only one-way notices, at most MAX_BATCH of them', async () => {
    const got: Array<{ notice: unknown; sender?: string }> = []
    const h = handlersRecording(got)
    const refused = async (args: unknown): Promise<void> => {
      await assert.rejects(
        async () => await h.many(args, rc),
        (e: any) => e.code === ErrorCode.BAD_REQUEST
      )
    }
    await refused({ op: 'debit', list: [{ request: 'x' }] })
    await refused({ op: 'many', list: [] })
    await refused({ op: 'notice', list: 'x' })
    await refused({ op: 'notice', list: Array.from({ length: MAX_BATCH + 1 }, () => ({ notice: 'a' })) })
    assert.deepEqual(got, [])
  })
})

describe('objects opened once', () => {
  it("a member takes the service's opening of the same bytes, never of other bytes", async () => {
    const { w, A, B } = await joinedPair()
    const bankA = w.bank(A.id)
    const bankB = w.bank(B.id)
    const req = w.request(A, B.id, 30)
    const other = w.request(A, B.id, 31)
    // a debit with the opening of another request applies the bytes it was given
    const d = w.member(bankA[0]).debit(req.b64, bankA, openTransfer(verifier, other.b64))
    assert.equal(d.requestHash, req.hash)
    const n1 = w.member(bankA[1]).debit(req.b64, bankA).notice
    const m = w.member(bankB[0])
    // a notice with the opening of another member's notice counts its own signer
    const out = m.receiveNotice(d.notice, bankA, bankB, openNotice(verifier, n1))
    assert.equal(out.status, 'counted')
    assert.deepEqual(m.t.credits.get(req.hash)?.voters, [bankA[0]])
    const again = m.receiveNotice(n1, bankA, bankB, openNotice(verifier, n1))
    assert.equal(again.status, 'counted')
    assert.deepEqual(m.t.credits.get(req.hash)?.voters, [bankA[0], bankA[1]].sort())
    throwsCode(() => m.receiveNotice('garbage', bankA, bankB, openNotice(verifier, n1)), ErrorCode.BAD_REQUEST)
  })
})
