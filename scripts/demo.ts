// `npm start [-- --keep]`: every scheme on a local libp2p swarm. A broker, a
// TTP, a judge and six peers run as real processes with temporary data dirs:
// PPay payments (one peer cheats), a file sale and the garbage-key attack
// ending in a ban and a refund, Karma transfers and majority reads. Without
// --keep it stops everything and removes the data; with --keep the swarm
// stays up, prints each daemon's dashboard, and keeps paying until Ctrl-C.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Daemon, Swarm } from './lib/swarm.ts'
import { ppayDemo } from './demo/ppay.ts'
import { fairexDemo } from './demo/fairex.ts'
import { karmaDemo, karmaTransfer } from './demo/karma.ts'
import { heading, line, name, nameAll, sleep } from './demo/show.ts'

const KEEP = process.argv.includes('--keep')
const K = 3
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'] as const

const swarm = new Swarm('demo')

/** A 256 KiB file `seller` shares for the sales made while the swarm stays up; its file id. */
async function shareSmall(seller: Daemon): Promise<string> {
  const path = join(swarm.dir, 'song.ogg')
  writeFileSync(path, randomBytes(256 * 1024))
  return (await seller.api('POST', '/v1/fairex/share', { path, price: 3, name: 'song.ogg' })).fileId
}

/** The URL of a daemon's dashboard, its token in the fragment (which never reaches the server). */
function dashboardUrl(d: Daemon): string {
  const token = readFileSync(join(d.dataDir, 'api.token'), 'utf8').trim()
  return `http://${d.apiHost}:${d.apiPort}/dashboard/#token=${token}`
}

async function main(): Promise<Daemon[]> {
  line('p2pay demo: every scheme on a local libp2p swarm (each daemon a separate process, TCP + Noise + Yamux)')
  const m = await swarm.startMarket(['--deposit-fee', '1', '--proceeds-hold-s', '0'])
  const args = ['--allow-cheats', '--karma-k', String(K), '--karma-pow-bits', '8', '--auto-deposit-s', '0']
  const nodes = await swarm.startNodes(NAMES.length, [...args, ...m.nodeArgs])
  const named = Object.fromEntries(NAMES.map((n, i) => [n, nodes[i]]))
  nameAll({ broker: m.broker, ttp: m.ttp, judge: m.judge, ...named })
  for (const [n, d] of Object.entries({ broker: m.broker, ttp: m.ttp, judge: m.judge, ...named }))
    line(`  ${n.padEnd(6)} ${d.peerId}`)
  if (KEEP) printDashboards([m.broker, m.ttp, m.judge, ...nodes])
  for (const d of nodes) await m.broker.api('POST', '/v1/topup', { account: d.peerId, amount: 1000 })
  line('  the broker credited every peer 1000 (the stand-in for money coming in from outside)')

  const { alice, bob, carol, dave, erin } = named
  await ppayDemo(m.broker, alice, bob, carol)
  await fairexDemo({ broker: m.broker, judge: m.judge, dir: swarm.dir }, carol, alice, dave, erin)
  await karmaDemo(nodes, K)

  heading('Summary')
  const audit = await m.broker.api('GET', '/v1/audit')
  line(
    `  the broker's audit: every unit topped up (${audit.toppedUp}) is in an account or in a scheme's custody: ` +
      (audit.holds === true ? 'holds' : 'BROKEN')
  )
  if (audit.holds !== true) throw new Error(`the broker's audit does not hold: ${JSON.stringify(audit)}`)
  return [m.broker, m.ttp, m.judge, ...nodes]
}

function printDashboards(daemons: Daemon[]): void {
  heading('Dashboards (the token is in the fragment, which never reaches the server):')
  for (const d of daemons) line(`  ${name(d.peerId).padEnd(6)} ${dashboardUrl(d)}`)
}

/** --keep: the dashboards again, and a payment, a transfer and now and then a small sale, until Ctrl-C. */
async function keepRunning(daemons: Daemon[]): Promise<void> {
  heading('The swarm stays up (--keep).')
  printDashboards(daemons)
  line('Ctrl-C stops every daemon and removes the data.')
  const [, , , , bob, carol] = daemons
  const file = await shareSmall(carol)
  // everyone cashed at the end of the story: fresh coins to pay with
  for (const d of [bob, carol]) await d.api('POST', '/v1/ppay/buy', { count: 40, value: 5 })
  let stop = false
  process.once('SIGINT', () => (stop = true))
  process.once('SIGTERM', () => (stop = true))
  for (let i = 0; !stop; i++) {
    const [from, to] = i % 2 === 0 ? [bob, carol] : [carol, bob]
    try {
      await from.api('POST', '/v1/ppay/pay', { to: to.peerId, amount: 5 })
      line(`  ${name(from.peerId)} paid ${name(to.peerId)} 5 (PPay)`)
      await karmaTransfer(from, to, 1)
      if (i % 4 === 3) {
        const out = join(swarm.dir, `keep-${i}.bin`)
        const r = await bob.api('POST', '/v1/fairex/buy', { provider: carol.addr, fileId: file, out })
        line(`  bob bought a file from carol (fair exchange): ${r.status}`)
      }
    } catch (err) {
      line(`  a payment failed: ${String(err)}`)
    }
    for (let t = 0; t < 50 && !stop; t++) await sleep(100)
  }
}

try {
  const daemons = await main()
  if (KEEP) await keepRunning(daemons)
} catch (err) {
  process.exitCode = 1
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`)
} finally {
  await swarm.stopAll()
  line('\nall daemons stopped; temporary data removed')
}
