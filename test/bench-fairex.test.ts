// The file-market benchmark run tiny as its own process (`npm run bench --
// fairex --json`): the sale arrives byte-identical, every ratio is its figure
// over the limit measured in the same run (the raw stream, the bare stream, the
// buyer's disk written as a buyer writes), the disk was measured before and
// after the sale, the CPU per MiB is there for both the sale and the raw
// stream, every small sale completed, and the AC's books hold.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const MIB = 8
const SALES = 5

const r2 = (x: number): number => Math.round(x * 100) / 100

test('npm run bench -- fairex --json: each figure beside the limit measured in the same run', async () => {
  const { stdout } = await run(
    process.execPath,
    [BENCH, 'fairex', '--json', '--mib', String(MIB), '--sales', String(SALES), '--runs', '1'],
    { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }
  )
  const r = JSON.parse(stdout)
  assert.equal(r.scheme, 'fairex')
  assert.equal(r.sale.mib, MIB)
  assert.equal(r.sale.identical, true, 'the buyer has the exact file')
  assert.equal(r.diskWrite.bytes, MIB * 2 ** 20)
  assert.equal(r.diskWrite.runs.length, 2, 'the disk before and after the sale')
  assert.equal(r.diskWrite.mibPerSecond, Math.min(...r.diskWrite.runs), 'the slower of the two bounds the sale')
  assert.equal(r.rawStream.runs.length, 1)
  assert.equal(r.saleVsRaw, r2(r.sale.mibPerSecond / r.rawStream.mibPerSecond))
  assert.equal(r.saleVsDisk, r2(r.sale.mibPerSecond / r.diskWrite.mibPerSecond))
  assert.equal(r.rawVsBare, r2(r.rawStream.mibPerSecond / r.bareStream.mibPerSecond))
  for (const x of [r.sale.cpuMsPerMiB, r.rawStream.cpuMsPerMiB])
    assert.ok(Number.isFinite(x) && x >= 0, `CPU per MiB: ${String(x)}`)
  assert.equal(r.smallSales.count, SALES)
  assert.equal(r.smallSales.done, SALES, 'every small sale completed')
  assert.equal(r.conservation, true, "the AC's books hold")
  const sale = r.figures.find((f: any) => f.figure === 'sale MiB/s')
  assert.equal(sale.limitValue, r.rawStream.mibPerSecond)
  assert.equal(sale.ratio, r.saleVsRaw)
})
