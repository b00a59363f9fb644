// Evidence on its way to the broker is kept in LevelDB until the broker takes it: kept across a broker that cannot
// be reached (and a restart), the same case kept once, sent again by `resend`, deleted once answered; a case the
// broker refuses for good is dropped.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCode, P2payError, Store, createLogger } from '@p2pay/core'
import { EvidenceOutbox, type Reported } from '../src/net/wallet-evidence.ts'
import { WALLET_NET_TABLES } from '../src/net/tables.ts'

const log = createLogger('test', 'error')

async function outbox(dir: string, send: (e: unknown) => Promise<Reported>) {
  const store = new Store(dir)
  await store.open()
  const t = await store.tables(WALLET_NET_TABLES)
  return { store, table: t.evidence, box: new EvidenceOutbox({ table: t.evidence, store, send, log }) }
}

describe('the evidence outbox', () => {
  it('keeps evidence while the broker is unreachable, across a restart, and sends it once it answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whopay-evidence-'))
    try {
      const evidence = { cert: 'Y2VydA', a: 'YQ', b: 'Yg' }
      const down = async (): Promise<Reported> => {
        throw new P2payError(ErrorCode.UNREACHABLE, 'broker down')
      }
      let o = await outbox(dir, down)
      assert.equal(await o.box.report(evidence), undefined)
      assert.equal(await o.box.report(evidence), undefined)
      assert.equal(o.table.size, 1)
      assert.equal(await o.box.resend(), 1)
      await o.store.close()
      const got: unknown[] = []
      o = await outbox(dir, async e => {
        got.push(e)
        return { fraud: 'f1', cheater: 'c' }
      })
      assert.equal(o.table.size, 1)
      assert.equal(await o.box.resend(), 0)
      assert.deepEqual(got, [evidence])
      await o.store.close()
      o = await outbox(dir, down)
      assert.equal(o.table.size, 0)
      await o.store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('drops a case the broker refuses for good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whopay-evidence-'))
    try {
      const o = await outbox(dir, async () => {
        throw new P2payError(ErrorCode.BAD_REQUEST, 'not evidence')
      })
      assert.equal(await o.box.report({ junk: 1 }), undefined)
      assert.equal(o.table.size, 0)
      await o.store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
