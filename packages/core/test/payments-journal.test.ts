// payments/journal.ts over a real LevelDB: a retried id pays once, a failure is
// kept with its reason, a crash leaves a pending entry that the next start
// settles from what the scheme's records show, and a deadline ends what its
// scheme cannot settle.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from '../src/store/store.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { PaymentJournal } from '../src/payments/journal.ts'
import { PAYMENT_TABLES } from '../src/payments/tables.ts'
import type { PaymentEntry, PaymentRouteInfo, PaymentSettler } from '../src/payments/types.ts'

const root = mkdtempSync(join(tmpdir(), 'p2pay-core-payments-'))
after(() => rmSync(root, { recursive: true, force: true }))
let n = 0

async function open(dir: string, settlers = new Map<string, PaymentSettler>()): Promise<[Store, PaymentJournal]> {
  const store = new Store(dir)
  store.onFatal = err => {
    throw new Error(`unexpected fatal store error: ${err.message}`)
  }
  await store.open()
  const t = await store.table<PaymentEntry>(PAYMENT_TABLES.journal.bucket)
  return [store, new PaymentJournal(store, t, { settlers })]
}

const PAY: PaymentRouteInfo = {
  scheme: 'test',
  op: 'pay',
  peer: b => b.to as string,
  amount: b => b.amount as number
}

describe('PaymentJournal', () => {
  it('a retried id returns the first outcome and runs the operation once', async () => {
    const [store, j] = await open(join(root, `db${n++}`))
    let runs = 0
    const exec = async (): Promise<unknown> => ({ paid: ++runs })
    const body = { id: 'pay-0000001', to: 'bob', amount: 5 }
    const first = (await j.run(PAY, body, exec)) as any
    const again = (await j.run(PAY, body, exec)) as any
    assert.equal(runs, 1)
    assert.equal(first.paid, 1)
    assert.equal(again.paid, 1)
    assert.equal(again.payment.state, 'succeeded')
    // the same id for another payment is refused, not paid
    await assert.rejects(j.run(PAY, { ...body, amount: 6 }, exec), (e: P2payError) => e.code === 'BAD_REQUEST')
    assert.equal(runs, 1)
    await store.close()
  })

  it('a failure is final with its reason, and a retry gets the same error without running again', async () => {
    const [store, j] = await open(join(root, `db${n++}`))
    let runs = 0
    const exec = async (): Promise<unknown> => {
      runs++
      throw new P2payError(ErrorCode.INSUFFICIENT_FUNDS, 'no coins')
    }
    const body = { id: 'pay-0000002', to: 'bob', amount: 5 }
    for (let i = 0; i < 2; i++) {
      await assert.rejects(j.run(PAY, body, exec), (e: P2payError) => {
        assert.equal(e.code, ErrorCode.INSUFFICIENT_FUNDS)
        assert.equal((e.details?.payment as PaymentEntry).state, 'failed')
        return true
      })
    }
    assert.equal(runs, 1)
    assert.equal(j.get('pay-0000002')?.reason, 'no coins')
    await store.close()
  })

  it("an operation its scheme's settler does not settle ends as its error: bad input leaves no entry", async () => {
    // the scheme has a settler, for its payments only (as PPay's settles pay, not buy)
    const settlers = new Map<string, PaymentSettler>([['test', { settle: async () => undefined }]])
    const [store, j] = await open(join(root, `db${n++}`), settlers)
    const BUY: PaymentRouteInfo = { scheme: 'test', op: 'buy' }
    const refuse = async (): Promise<unknown> => {
      throw new P2payError(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
    }
    await assert.rejects(j.run(BUY, { value: -1 }, refuse), (e: P2payError) => e.code === ErrorCode.BAD_REQUEST)
    assert.deepEqual(j.list(), [], 'no entry for an unnamed call refused with nothing moved')
    // named, the refusal is kept final (a retry gets it again), never left pending
    await assert.rejects(j.run(BUY, { id: 'buy-0000001', value: -1 }, refuse))
    assert.equal(j.get('buy-0000001')?.state, 'failed')
    await store.close()
  })

  it('an id in flight answers its state (pending) and the operation still runs once', async () => {
    const [store, j] = await open(join(root, `db${n++}`))
    let release!: () => void
    const gate = new Promise<void>(resolve => (release = resolve))
    let runs = 0
    const exec = async (): Promise<unknown> => {
      runs++
      await gate
      return { ok: true }
    }
    const body = { id: 'pay-0000003', to: 'bob', amount: 1 }
    const first = j.run(PAY, body, exec)
    await new Promise(resolve => setTimeout(resolve, 50))
    const during = (await j.run(PAY, body, exec)) as any
    assert.equal(during.payment.state, 'pending')
    release()
    assert.equal(((await first) as any).payment.state, 'succeeded')
    assert.equal(runs, 1)
    await store.close()
  })

  it('an entry a crash left pending is settled at the next start from the scheme records, and stays so', async () => {
    const dir = join(root, `db${n++}`)
    const [s1, j1] = await open(dir)
    // the operation never answers: the process "dies" with the entry pending on disk
    void j1.run(PAY, { id: 'pay-crash-01', to: 'bob', amount: 3 }, async () => await new Promise(() => {}))
    void j1.run(PAY, { id: 'pay-crash-02', to: 'carol', amount: 4 }, async () => await new Promise(() => {}))
    await new Promise(resolve => setTimeout(resolve, 50))
    await s1.close()
    // the scheme's records: the payment to bob went through, the one to carol never signed anything
    const settlers = new Map<string, PaymentSettler>([
      [
        'test',
        {
          settle: async e =>
            e.peer === 'bob'
              ? { state: 'succeeded', reason: 'found in the wallet', result: { coins: ['c1'] } }
              : { state: 'failed', reason: 'nothing was signed' }
        }
      ]
    ])
    const [s2, j2] = await open(dir, settlers)
    assert.equal(j2.get('pay-crash-01')?.state, 'pending')
    assert.equal(await j2.settleDue(), 2)
    assert.equal(j2.get('pay-crash-01')?.state, 'succeeded')
    assert.equal(j2.get('pay-crash-02')?.state, 'failed')
    // a retry after the restart gets the settled outcome
    const retried = (await j2.run(PAY, { id: 'pay-crash-01', to: 'bob', amount: 3 }, async () => {
      throw new Error('must not run again')
    })) as any
    assert.deepEqual(retried.coins, ['c1'])
    await s2.close()
    const [s3, j3] = await open(dir)
    assert.equal(j3.get('pay-crash-02')?.state, 'failed')
    assert.equal(j3.get('pay-crash-02')?.reason, 'nothing was signed')
    await s3.close()
  })

  it('past its deadline an entry its scheme still calls pending ends by the scheme expire, or as failed', async () => {
    const dir = join(root, `db${n++}`)
    let now = 1_000_000
    const store = new Store(dir)
    await store.open()
    const t = await store.table<PaymentEntry>(PAYMENT_TABLES.journal.bucket)
    const settlers = new Map<string, PaymentSettler>([
      [
        'test',
        {
          settle: async () => undefined,
          expire: async e => (e.peer === 'bob' ? { state: 'expired', reason: 'coins returned' } : undefined)
        }
      ],
      ['other', {}]
    ])
    const j = new PaymentJournal(store, t, { settlers, now: () => now })
    const never = async (): Promise<unknown> => await new Promise(() => {})
    const ops = [
      j.run(PAY, { id: 'pay-late-001', to: 'bob', amount: 1, deadlineMs: 5000 }, never),
      j.run(PAY, { id: 'pay-late-002', to: 'carol', amount: 1, deadlineMs: 5000 }, never),
      j.run({ scheme: 'other', op: 'cash' }, { id: 'cash-late-01', deadlineMs: 5000 }, never)
    ]
    void ops
    await new Promise(resolve => setTimeout(resolve, 50))
    // still running in this process: a settle leaves them alone, even past the deadline
    now += 10_000
    assert.equal(await j.settleDue(), 0)
    // as after a restart: no operation runs them any more
    const [s2, j2] = await (async () => {
      await store.close()
      const s = new Store(dir)
      await s.open()
      return [
        s,
        new PaymentJournal(s, await s.table<PaymentEntry>(PAYMENT_TABLES.journal.bucket), { settlers, now: () => now })
      ] as const
    })()
    now -= 9000 // before the deadline: the scheme says nothing yet, they stay pending
    assert.equal(await j2.settleDue(), 0)
    assert.equal(j2.get('pay-late-001')?.state, 'pending')
    now += 9000
    assert.equal(await j2.settleDue(), 3)
    assert.equal(j2.get('pay-late-001')?.state, 'expired')
    assert.equal(j2.get('pay-late-001')?.reason, 'coins returned')
    assert.equal(j2.get('pay-late-002')?.state, 'failed')
    assert.equal(j2.get('cash-late-01')?.state, 'failed')
    assert.equal(j2.list({ state: 'pending' }).length, 0)
    await s2.close()
  })

  it('refuses a malformed id or deadline, and an unnamed refused call, leaving no entry', async () => {
    const [store, j] = await open(join(root, `db${n++}`))
    const exec = async (): Promise<unknown> => ({})
    await assert.rejects(
      j.run(PAY, { id: 'a/b', to: 'x', amount: 1 }, exec),
      (e: P2payError) => e.code === 'BAD_REQUEST'
    )
    await assert.rejects(
      j.run(PAY, { id: 'pay-0000009', to: 'x', amount: 1, deadlineMs: 5 }, exec),
      (e: P2payError) => e.code === 'BAD_REQUEST'
    )
    assert.equal(j.list().length, 0)
    // a call that names no id and is refused leaves nothing behind either
    await assert.rejects(
      j.run(PAY, { to: 'x', amount: 1 }, async () => {
        throw new P2payError(ErrorCode.BAD_REQUEST, 'no such payee')
      }),
      (e: P2payError) => e.code === 'BAD_REQUEST' && e.details?.payment === undefined
    )
    assert.equal(j.list().length, 0)
    await store.close()
  })

  it("the operation gets its entry's id, one made for it too: the scheme writes it on the rows it signs", async () => {
    const [store, j] = await open(join(root, `db${n++}`))
    const seen: unknown[] = []
    const exec = async (b: Record<string, unknown>): Promise<unknown> => {
      seen.push(b.id)
      return { ok: true }
    }
    await j.run(PAY, { id: 'pay-0000010', to: 'x', amount: 1 }, exec)
    await j.run(PAY, { to: 'x', amount: 2 }, exec)
    assert.equal(seen[0], 'pay-0000010')
    const made = j.list().find(e => e.amount === 2)
    assert.equal(typeof seen[1], 'string')
    assert.equal(seen[1], made?.id)
    await store.close()
  })
})
