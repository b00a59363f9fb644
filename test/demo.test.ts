// `npm start`, as a new user runs it: every scheme's story ends as the
// protocols promise (the demo throws otherwise), and nothing is left behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../scripts/lib/swarm.ts'

const run = promisify(execFile)

test('npm start: PPay, a file sale, the garbage-key attack and Karma end as promised; every daemon stops', async () => {
  const { stdout } = await run(process.execPath, [join(ROOT, 'scripts', 'demo.ts')], {
    cwd: ROOT,
    timeout: 300_000,
    maxBuffer: 8 * 1024 * 1024
  })
  for (const want of [
    /fraud proof .*convicted bob/,
    /alice has the file \(sha256 matches\)/,
    /ruling providerBan, purchase refunded/,
    /the judge banned dave and voided the cheque/,
    /erin keeps its 25 \(refunded\), dave gained 0/,
    /dave tries to deposit the cheque anyway: refused FRAUD/,
    /reads alice: 975 karma, \d of 3 members agree/,
    /the broker's audit: .*: holds/,
    /all daemons stopped; temporary data removed/
  ])
    assert.match(stdout, want)
})
