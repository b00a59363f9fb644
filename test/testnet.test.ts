// The testnet's scenarios in their short form: each on a testnet of its own
// (hosts in network namespaces, daemons started through the CLI on the hosts'
// addresses, faults between them), each a test of its own, taken down after it
// whatever happened, then a check that nothing of them is left. Skipped with
// the reason where the machine cannot make namespaces (not root, no iptables).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FIRST_PORT, Testnet, type Host } from '../scripts/testnet/testnet.ts'
import { forwardRules, links, namespaces } from '../scripts/testnet/netns.ts'
import { ROOT } from '../scripts/lib/swarm.ts'
import { SCENARIOS, hostsFor, loadScenario, scenarioExists } from '../scripts/testnet/scenarios.ts'

const available = await Testnet.available()
if (!available.ok) process.stdout.write(`# testnet scenarios skipped: ${available.why}\n`)
/** a short scenario's bound: the short Karma one, the longest, takes about four minutes on 2 busy cores */
const SCENARIO_MS = 12 * 60_000
const nets: Testnet[] = []

after(async () => {
  // a scenario that timed out is still taken down here; the dirs of failed ones stay for their logs
  for (const net of nets) await net.down({ keep: true }).catch(() => {})
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

/** Runs a node program in a host's namespace; what it printed. */
async function inHost(h: Host, program: string, ...args: string[]): Promise<string> {
  const p = spawn('ip', ['netns', 'exec', h.ns, process.execPath, '-e', program, ...args], { stdio: 'pipe' })
  let out = ''
  p.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const code = await new Promise(resolve => p.once('exit', resolve))
  assert.equal(code, 0, `a program in ${h.name} failed`)
  return out.trim()
}

test('testnet: latency sends the connections into and out of a host through its delay relay', async t => {
  if (!available.ok) return t.skip(available.why)
  const net = await Testnet.up({ hosts: 2 })
  nets.push(net)
  const [a, b] = net.hosts
  // on each host, where a libp2p daemon would listen: answers one line with the address it sees the caller at
  const echo =
    "require('net').createServer(s => s.once('data', () => s.end(s.remoteAddress)))" +
    `.listen(${FIRST_PORT}, process.argv[1], () => console.log('up'))`
  const servers = [a, b].map(h => spawn('ip', ['netns', 'exec', h.ns, process.execPath, '-e', echo, h.ip]))
  try {
    await Promise.all(servers.map(async s => await new Promise(resolve => s.stdout.once('data', resolve))))
    const ask =
      `const s = require('net').connect(${FIRST_PORT}, process.argv[1]); const t = Date.now()\n` +
      "s.on('connect', () => s.write('?'))\n" +
      "s.on('data', d => console.log(JSON.stringify({ seen: String(d), ms: Date.now() - t })))"
    const direct = JSON.parse(await inHost(b, ask, a.ip))
    assert.equal(direct.seen, b.ip, 'without latency a host sees the other at its address')
    await net.latency(a, 100)
    const into = JSON.parse(await inHost(b, ask, a.ip))
    const out = JSON.parse(await inHost(a, ask, b.ip))
    assert.equal(into.seen, '127.0.0.1', "a connection into the latent host reaches its port from the relay's end")
    assert.deepEqual(net.addrsOf(a), [a.ip, out.seen], "a connection out of it comes from the relay's address")
    t.diagnostic(`one exchange: ${direct.ms} ms direct, ${into.ms} ms into and ${out.ms} ms out of a host at 100 ms`)
    await net.latency(a, 0)
    assert.equal(
      JSON.parse(await inHost(b, ask, a.ip)).seen,
      b.ip,
      'latency 0 puts connections back on the direct path'
    )
  } finally {
    for (const s of servers) s.kill('SIGKILL')
    await net.down()
  }
})

test('testnet: down removes what a runner that died left: its processes, namespaces and links', async t => {
  if (!available.ok) return t.skip(available.why)
  const net = await Testnet.up({ hosts: 2 })
  nets.push(net)
  // a daemon left running in a host, with a fault on it, as a killed runner leaves them
  const d = await net.start('broker', net.hosts[0])
  await net.loss(net.hosts[0], 50)
  await net.latency(net.hosts[1], 10)
  const down = await promisify(execFile)(process.execPath, [
    join(ROOT, 'scripts', 'testnet.ts'),
    'down',
    '--net',
    `${net.n}`
  ])
  t.diagnostic(down.stdout.trim())
  assert.notEqual(await d.exited, 0, 'the daemon was killed')
  assert.deepEqual(await namespaces(net.prefix), [])
  assert.deepEqual(await links(net.prefix), [])
})

test('testnet: no namespace, link, rule or process of these testnets is left', async t => {
  if (!available.ok) return t.skip(available.why)
  for (const net of nets) {
    assert.deepEqual(await namespaces(net.prefix), [], `namespaces of testnet ${net.n}`)
    assert.deepEqual(await links(net.prefix), [], `links of testnet ${net.n}`)
    assert.deepEqual(await forwardRules(net.prefix), [], `the FORWARD rule of testnet ${net.n}`)
    for (const d of net.daemons) assert.ok(d.proc?.exitCode != null || d.proc?.signalCode != null, `${d.dataDir} runs`)
  }
})
