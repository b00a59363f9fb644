// The Karma scale benchmark run tiny as its own process (`npm run bench --
// karma-scale --json`): 16 Karma nodes in two host processes (k = 3), a few transfers
// without churn and a few while a node leaves and a new one joins. Every
// transfer is final, conservation holds over the swarm's accounts, and each
// per-transfer figure is the difference of two reads of the nodes' counters
// divided by the transfers made (the reads are in the JSON), not a constant.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const NODES = 16
const ACCOUNTS = 6
const QUIET = 4
const WARM = 4
const CHURN = 4

test('npm run bench -- karma-scale --json: 16 nodes in 2 processes, transfers final, churn, conservation', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      BENCH,
      'karma-scale',
      '--json',
      '--nodes',
      String(NODES),
      '--processes',
      '2',
      '--k',
      '3',
      '--sync-ms',
      '3000',
      '--accounts',
      String(ACCOUNTS),
      '--quiet-transfers',
      String(QUIET),
      '--warm-transfers',
      String(WARM),
      '--transfers',
      String(CHURN),
      '--minutes',
      '0.25',
      '--min-churn',
      '1',
      '--idle-ms',
      '2000'
    ],
    { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }
  )
  const r = JSON.parse(stdout)
  assert.equal(r.scheme, 'karma-scale')
  assert.equal(r.runs.length, 1)
  const n = r.runs[0]
  assert.equal(n.nodes, NODES)
  assert.equal(n.processes, 2)
  assert.equal(n.accounts, ACCOUNTS, `every account joined: ${JSON.stringify(n.joinFailures)}`)

  // each quiet phase's figures (caches cold, then warm) come from the counters read before and after it
  for (const [q, count] of [
    [n.quiet, QUIET],
    [n.warm, WARM]
  ]) {
    assert.equal(q.transfers, count)
    const { before, after } = q.from
    const kind = (s: any, f: string): number => s.kinds['karma-transfer'][f]
    for (const f of ['messages', 'generated', 'verified']) {
      assert.ok(kind(after, f) > kind(before, f), `${f} counted`)
      assert.equal(q[f], Math.round(((kind(after, f) - kind(before, f)) / count) * 100) / 100, f)
    }
    // a transfer is k requests and their receipts and k^2 notices at least (k = 3)
    assert.ok(q.messages >= 3 * 3 + 2 * 3, `messages per transfer ${q.messages}`)
    assert.ok(after.cpuMs > before.cpuMs, 'the hosts spent CPU')
    assert.ok(q.cpuMs > 0)
    assert.ok(q.dhtLookups >= 0 && q.queryMessagesPerLookup >= 0)
  }
  // the warm phase follows the cold one
  assert.ok(n.warm.from.before.cpuMs >= n.quiet.from.after.cpuMs)

  // churn: a node left and a new one joined; a majority read of payee and payer after each transfer
  const c = n.churn
  assert.equal(c.transfers, CHURN)
  assert.ok(c.leaves >= 1 && c.joins === c.leaves, `${c.leaves} left, ${c.joins} joined`)
  assert.equal(c.reads.count, 2 * CHURN)
  for (const share of [c.reads.agreement, c.reads.unanimity, c.reads.bankViewTrue]) assert.ok(share >= 0 && share <= 1)
  assert.equal(c.reads.agreement, Math.round((c.reads.agree / c.reads.count) * 10000) / 10000)

  // the end: every account read by majority, the sum is what the joins minted
  const f = n.final
  // every transfer is final: acknowledged, or done later by the payer's retries (a call can fail under churn), none
  // left pending
  assert.equal(f.unsure.pending, 0, `transfers left pending: ${JSON.stringify(n.failures)}`)
  assert.equal(f.unsure.payerLeft + f.unsure.late <= n.failures.length, true)
  assert.deepEqual(f.unread, [])
  assert.equal(f.expected, ACCOUNTS * 1000)
  assert.equal(f.total, f.expected)
  assert.equal(f.conservation, true)
  assert.equal(f.ledgerMismatch, 0, 'every account reads what the acknowledged transfers left it')
  assert.equal(r.scaling.length, 1)
  // a size's ratio to itself, in both phases
  assert.equal(r.scaling[0].messages, 1)
  assert.equal(r.scaling[0].cold.messages, 1)
  assert.ok(r.agreement.counted.length > 0)
})
