// Latency without netem: a delaying relay (delay-relay.ts) in the host's
// namespace, and iptables nat rules there that send the host's libp2p traffic
// through it both ways, so no daemon is told anything:
// - in: connections from other hosts to a libp2p port of this host are
//   redirected to the relay, which connects on to the daemon from 127.0.0.1
//   (loopback is exempt from libp2p's per-address inbound limit);
// - out: connections this host's daemons open to a libp2p port of another host
//   are redirected to a relay port for that host and port; the relay connects
//   on from a second address of the host (`alias`), which the rules leave alone.
// Each byte is held `ms` one way, so a round trip through one latent host takes
// 2 * ms more. Only connections opened after the rules exist are delayed.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { nsExec } from './netns.ts'
import type { RelayConfig } from './delay-relay.ts'

const RELAY = join(import.meta.dirname, 'delay-relay.ts')
const IN_CHAIN = 'P2T-LAT-IN'
const OUT_CHAIN = 'P2T-LAT-OUT'
/** the relay's port for inbound connections to libp2p port p is p + IN_OFFSET */
const IN_OFFSET = 10_000
/** relay ports for outbound connections: OUT_BASE + host index * ports + port offset */
const OUT_BASE = 20_000

export interface LatencyPlan {
  ns: string
  ip: string
  alias: string
  /** the other hosts, by index, with their addresses */
  others: Array<{ index: number; ip: string }>
  /** libp2p ports daemons may listen on */
  ports: number[]
  ms: number
}

const nat = async (ns: string, ...args: string[]): Promise<string> =>
  await nsExec(ns, 'iptables', '-w', '5', '-t', 'nat', ...args)

/** Starts the relay in the namespace and adds the rules; the relay process is returned (stop it by its pid). */
export async function addLatency(p: LatencyPlan): Promise<ChildProcess> {
  const cfg: RelayConfig = { delayMs: p.ms, routes: [] }
  const rules: string[][] = []
  for (const port of p.ports) {
    cfg.routes.push({ listen: { host: p.ip, port: port + IN_OFFSET }, to: { host: p.ip, port }, from: '127.0.0.1' })
    rules.push([
      IN_CHAIN,
      '-p',
      'tcp',
      '-d',
      p.ip,
      '--dport',
      `${port}`,
      '-j',
      'REDIRECT',
      '--to-ports',
      `${port + IN_OFFSET}`
    ])
  }
  for (const o of p.others) {
    p.ports.forEach((port, k) => {
      const relayPort = OUT_BASE + o.index * p.ports.length + k
      cfg.routes.push({ listen: { host: '127.0.0.1', port: relayPort }, to: { host: o.ip, port }, from: p.alias })
      // the relay's own connections come from the alias and pass
      rules.push([
        OUT_CHAIN,
        '-p',
        'tcp',
        '-s',
        p.ip,
        '-d',
        o.ip,
        '--dport',
        `${port}`,
        '-j',
        'REDIRECT',
        '--to-ports',
        `${relayPort}`
      ])
    })
  }
  await nsExec(p.ns, 'ip', 'addr', 'add', `${p.alias}/24`, 'dev', 'eth0')
  const relay = spawn(
    'ip',
    ['netns', 'exec', p.ns, process.execPath, RELAY, Buffer.from(JSON.stringify(cfg)).toString('base64')],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the delay relay did not start within 30 s')), 30_000)
    relay.once('exit', code => reject(new Error(`the delay relay exited with ${String(code)}`)))
    relay.stdout!.once('data', () => {
      clearTimeout(t)
      resolve()
    })
  })
  await nat(p.ns, '-N', IN_CHAIN).catch(() => {})
  await nat(p.ns, '-N', OUT_CHAIN).catch(() => {})
  for (const r of rules) await nat(p.ns, '-A', ...r)
  // the chains are jumped to once: a second latency() on the host only refills them
  if (!(await nat(p.ns, '-S', 'PREROUTING')).includes(IN_CHAIN)) {
    await nat(p.ns, '-A', 'PREROUTING', '-i', 'eth0', '-j', IN_CHAIN)
    await nat(p.ns, '-A', 'OUTPUT', '-o', 'eth0', '-j', OUT_CHAIN)
  }
  return relay
}

/** Removes the rules and the alias (the caller stops the relay): new connections go direct again. */
export async function removeLatency(ns: string, alias: string): Promise<void> {
  await nat(ns, '-F', IN_CHAIN).catch(() => {})
  await nat(ns, '-F', OUT_CHAIN).catch(() => {})
  await nsExec(ns, 'ip', 'addr', 'del', `${alias}/24`, 'dev', 'eth0').catch(() => {})
}
