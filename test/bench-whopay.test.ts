// The WhoPay benchmark run tiny as its own process (`npm run bench -- whopay
// --json`): every figure is there and positive, each rate sits next to its
// limit, and each Table I row is the difference of two counter reads of the
// daemons divided by the transactions made (the reads are in the JSON), not a
// constant: a transfer counts more than an issue, which carries no group
// signature.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const TRANSFERS = 6

test('npm run bench -- whopay --json: BBS04 times, rates with their limits, Table I from the counters', async () => {
  const { stdout } = await run(
    process.execPath,
    [BENCH, 'whopay', '--json', '--quick', '--calls', '3', '--transfers', String(TRANSFERS), '--warmup', '2'],
    { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }
  )
  const r = JSON.parse(stdout)
  assert.equal(r.scheme, 'whopay')
  for (const t of [r.crypto.sync, r.crypto.pool])
    for (const k of ['signMs', 'verifyMs', 'openMs']) assert.ok(t[k] > 0, k)
  assert.ok(r.crypto.ed25519VerifyPerSecond > 0)
  assert.equal(r.crypto.signatureBytes, 336)
  for (const k of ['transfersPerSecond', 'depositsPerSecond', 'ppayReassignmentsPerSecond'])
    assert.ok(r.limits[k] > 0, k)
  assert.deepEqual(r.paper.whopay, { messages: 2, generated: 3, verified: 4 })

  const net = r.net
  assert.equal(net.transfers.count, TRANSFERS)
  assert.equal(net.transfers.failed, 0)
  assert.ok(net.transfers.perSecond > 0)
  assert.equal(net.deposits.count, TRANSFERS, 'B deposits every coin it was paid')
  assert.equal(net.deposits.conservation, true)
  assert.equal(net.ppayReassignments.count, TRANSFERS)

  const { transferByKind, ...rows } = net.tableI
  for (const [name, row] of Object.entries<any>(rows)) {
    const { before, after, transactions } = row.from
    assert.ok(transactions > 0, name)
    for (const k of ['messages', 'generated', 'verified'] as const) {
      assert.ok(after[k] > before[k], `${name}: ${k} counted`)
      assert.equal(row[k], Math.round(((after[k] - before[k]) / transactions) * 100) / 100, `${name}: ${k}`)
    }
  }
  assert.ok(rows.whopayTransfer.generated > rows.whopayIssue.generated, 'a transfer signs more than an issue')
  assert.ok(rows.whopayTransferKinds.messages <= rows.whopayTransfer.messages)
  // the kinds one by one add up to the transfer's row (each rounded to 0.01)
  const kinds = Object.values<any>(transferByKind)
  assert.ok(kinds.length >= 2)
  for (const k of ['messages', 'generated', 'verified'] as const) {
    const sum = kinds.reduce((n, c) => n + c[k], 0)
    assert.ok(Math.abs(sum - rows.whopayTransfer[k]) <= 0.01 * kinds.length, `${k}: ${sum} by kind`)
  }
  assert.ok(transferByKind['whopay-transfer'].generated > 0)
})
