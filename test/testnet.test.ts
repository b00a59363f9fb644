// The testnet's scenarios in their short form: each on a testnet of its own
// (hosts in network namespaces, daemons started through the CLI on the hosts'
// addresses, faults between them), each a test of its own, taken down after it
// whatever happened, then a check that nothing of them is left. Skipped with
// the reason where the machine cannot make namespaces (not root, no iptables).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Testnet } from '../scripts/testnet/testnet.ts'
import { links, namespaces } from '../scripts/testnet/netns.ts'
import { SCENARIOS, hostsFor, loadScenario, scenarioExists } from '../scripts/testnet/scenarios.ts'

const available = await Testnet.available()
if (!available.ok) process.stdout.write(`# testnet scenarios skipped: ${available.why}\n`)
/** a short scenario's bound: the short Karma one, the longest, takes about four minutes on 2 busy cores */
const SCENARIO_MS = 12 * 60_000
const nets: Testnet[] = []

after(async () => {
  // a scenario that timed out is still taken down here
  for (const net of nets) await net.down().catch(() => {})
})

for (const name of SCENARIOS) {
  test(`testnet: ${name}, short form`, { timeout: SCENARIO_MS }, async t => {
    if (!available.ok) return t.skip(available.why)
    // a scenario not written yet is not a failure
    if (!scenarioExists(name)) return t.skip(`scripts/testnet/scenarios/${name}.ts does not exist yet`)
    const s = await loadScenario(name)
    const net = await Testnet.up({ hosts: hostsFor(name, s, true) })
    nets.push(net)
    let ok = false
    try {
      const figures = await s.run(net, { short: true, log: line => t.diagnostic(line) })
      t.diagnostic(JSON.stringify(figures))
      ok = true
    } finally {
      // on failure the daemon logs stay for a reader
      if (!ok) t.diagnostic(`daemon logs kept in ${net.dir}`)
      await net.down({ keep: !ok })
    }
  })
}

test('testnet: no namespace, link or process of these testnets is left', async t => {
  if (!available.ok) return t.skip(available.why)
  for (const net of nets) {
    assert.deepEqual(await namespaces(net.prefix), [], `namespaces of testnet ${net.n}`)
    assert.deepEqual(await links(net.prefix), [], `links of testnet ${net.n}`)
    for (const d of net.daemons) assert.ok(d.proc?.exitCode != null || d.proc?.signalCode != null, `${d.dataDir} runs`)
  }
})
