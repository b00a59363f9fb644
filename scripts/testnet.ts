// `npm run testnet -- up --hosts N | run <scenario> [--short] [--keep] | down`:
// hosts in network namespaces on one machine (root, Linux). `run` brings up a
// testnet of the hosts its scenario needs, runs it, prints its figures and
// takes the testnet down, also on failure or Ctrl-C; `up` leaves one standing
// for hands-on use; `down` removes every testnet's namespaces, links and
// processes, also those a killed runner left. Exit 1 on a broken invariant,
// 2 on bad arguments, 3 when the machine cannot run a testnet.
import { parseArgs } from 'node:util'
import { Testnet } from './testnet/testnet.ts'
import { namespaces, links, MAX_NETS, netPrefix, PREFIX, teardown } from './testnet/netns.ts'
import { SCENARIOS, hostsFor, loadScenario, scenarioExists } from './testnet/scenarios.ts'

const USAGE = `usage: npm run testnet -- up --hosts N
       npm run testnet -- run <${SCENARIOS.join('|')}> [--short] [--keep]
       npm run testnet -- down [--net N]   (every testnet's leftovers, or testnet N's)`

const t0 = Date.now()
const log = (line: string): void => {
  process.stdout.write(`[testnet ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}
const usage = (why: string): never => {
  process.stderr.write(`${why}\n${USAGE}\n`)
  process.exit(2)
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    hosts: { type: 'string' },
    short: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    net: { type: 'string' },
    help: { type: 'boolean' }
  }
})
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const [cmd, scenario] = positionals

async function needNamespaces(): Promise<void> {
  const a = await Testnet.available()
  if (!a.ok) {
    process.stderr.write(`this machine cannot run a testnet: ${a.why}\n`)
    process.exit(3)
  }
}

if (cmd === 'down') {
  const n = values.net === undefined ? undefined : Number(values.net)
  if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n < MAX_NETS)) usage(`--net: 0 to ${MAX_NETS - 1}`)
  const prefix = n === undefined ? PREFIX : netPrefix(n)
  const before = [...(await namespaces(prefix)), ...(await links(prefix))]
  const failed = await teardown(prefix)
  log(`removed ${before.length} namespaces and links${before.length > 0 ? `: ${before.join(' ')}` : ''}`)
  if (failed.length > 0) {
    process.stderr.write(`could not remove: ${failed.join('; ')}\n`)
    process.exitCode = 1
  }
} else if (cmd === 'up') {
  const hosts = Number(values.hosts)
  if (!Number.isInteger(hosts) || hosts < 1) usage('--hosts: a whole number of hosts')
  await needNamespaces()
  const net = await Testnet.up({ hosts })
  log(`testnet ${net.n} up in ${net.dir}: bridge ${net.prefix}br (${net.gateway}/24)`)
  for (const h of net.hosts) log(`  ${h.name}: namespace ${h.ns}, ${h.ip}`)
  log(`run a daemon on one: ip netns exec ${net.hosts[0].ns} npx p2pay broker start --data-dir ${net.dir}/broker \\`)
  log(`    --listen /ip4/${net.hosts[0].ip}/tcp/4001 --api-host ${net.hosts[0].ip}`)
  log('remove it all: npm run testnet -- down')
} else if (cmd === 'run') {
  if (scenario === undefined || !scenarioExists(scenario)) usage(`run: which scenario? (${SCENARIOS.join(', ')})`)
  await needNamespaces()
  const s = await loadScenario(scenario)
  const short = values.short === true
  const net = await Testnet.up({ hosts: hostsFor(scenario, s, short) })
  log(`testnet ${net.n}: ${net.hosts.length} hosts, daemon data and logs in ${net.dir}`)
  let stopping = false
  const onSignal = (sig: string): void => {
    if (stopping) return
    stopping = true
    log(`${sig}: taking the testnet down`)
    void net.down({ keep: true }).finally(() => process.exit(130))
  }
  process.once('SIGINT', () => onSignal('SIGINT'))
  process.once('SIGTERM', () => onSignal('SIGTERM'))
  let ok = false
  try {
    const figures = await s.run(net, { short, log })
    ok = true
    log(`${scenario}${short ? ' (short)' : ''}: every invariant holds`)
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
  } catch (err) {
    log(`${scenario} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    log(`daemon logs kept in ${net.dir} (<host>-<kind>.log)`)
    process.exitCode = 1
  } finally {
    if (!stopping) await net.down({ keep: !ok || values.keep === true })
  }
  const left = [...(await namespaces(net.prefix)), ...(await links(net.prefix))]
  log(`took ${((Date.now() - t0) / 1000).toFixed(0)} s; left behind: ${left.length > 0 ? left.join(' ') : 'nothing'}`)
  if (left.length > 0) process.exitCode = 1
} else {
  usage(cmd === undefined ? 'which command?' : `unknown command ${cmd}`)
}
