// A network with NAT on one machine, in network namespaces: a public segment
// (a bridge inside its own `wan` namespace, so the root namespace's firewall
// never sees its frames) with public hosts, and private LANs, each behind a
// router namespace that masquerades its LAN and lets nothing in that the LAN
// did not start. The runner in the root namespace reaches every host's control
// API over a management link; nothing else enters a LAN from outside.
//
// Every name starts with `p2n-<m>-` (net m, addresses 10.<90+m>.0.0/16), so
// `down` finds what it made by name, also after a runner that died:
//   node scripts/testnet/nat.ts down
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Daemon, type DaemonKind } from '../lib/swarm.ts'
import { links, namespaces, nsExec, sh, teardown as removeAll } from './netns.ts'

/** 1..n */
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1)

export const PREFIX = 'p2n-'
/** NAT nets 0..MAX_NETS-1 may run side by side (two test runs at once) */
const MAX_NETS = 10
/** first host address on a segment: .1 is the gateway (the management end, a router's LAN side) */
const HOST_BASE = 10
/** router L's address on the public segment is .<ROUTER_BASE + L> */
const ROUTER_BASE = 100
/** libp2p port every daemon listens on (one daemon per host) */
export const P2P_PORT = 4001
/** a daemon's start: many starting together on 2 cores are slow */
const START_MS = 90_000

export interface NatOptions {
  /** public hosts pub0, pub1, ... */
  publicHosts: number
  /** LANs 1..lans, each behind its own masquerading router */
  lans: number
  /** hosts l<L>h0, l<L>h1, ... in each LAN */
  hostsPerLan: number
  /** LANs whose router forwards its libp2p port (P2P_PORT) to host 0 of the LAN */
  portForward?: number[]
}

export interface NatHost {
  /** e.g. pub0, l1h0 */
  name: string
  ns: string
  ip: string
  /** the LAN it sits in (1, 2, ...), or undefined for a public host */
  lan?: number
}

const iptables = async (ns: string, ...args: string[]): Promise<string> =>
  await nsExec(ns, 'iptables', '-w', '5', ...args)

export class NatNet {
  readonly m: number
  readonly dir: string
  readonly hosts: NatHost[] = []
  readonly daemons: Daemon[] = []

  private constructor(m: number, dir: string) {
    this.m = m
    this.dir = dir
  }

  get prefix(): string {
    return `${PREFIX}${this.m}-`
  }
  /** the first two octets of every address of this net */
  private get base(): string {
    return `10.${90 + this.m}`
  }
  private get wan(): string {
    return `${this.prefix}wan`
  }
  /** the router of LAN l, by its address on the public segment */
  routerIp(lan: number): string {
    return `${this.base}.0.${ROUTER_BASE + lan}`
  }
  /** the runner's address on the public segment (the root end of the management link) */
  get mgmtIp(): string {
    return `${this.base}.0.1`
  }

  /** Whether this machine can build the net, and why not. */
  static async available(): Promise<{ ok: true } | { ok: false; why: string }> {
    if (process.platform !== 'linux')
      return { ok: false, why: `network namespaces need Linux, not ${process.platform}` }
    if (process.getuid?.() !== 0) return { ok: false, why: 'network namespaces and iptables need root' }
    for (const [cmd, pkg] of [
      ['ip', 'iproute2'],
      ['iptables', 'iptables']
    ]) {
      try {
        await sh(cmd, '-V')
      } catch {
        return { ok: false, why: `${cmd} is not installed (apt-get install -y ${pkg})` }
      }
    }
    // a container may lack CAP_NET_ADMIN or the nat table: try both in a throwaway namespace
    const probe = `${PREFIX}probe${process.pid}`
    try {
      await sh('ip', 'netns', 'add', probe)
      await iptables(probe, '-t', 'nat', '-A', 'POSTROUTING', '-j', 'MASQUERADE')
      return { ok: true }
    } catch (err) {
      return { ok: false, why: `cannot make a namespace with a NAT rule: ${(err as Error).message}` }
    } finally {
      await sh('ip', 'netns', 'del', probe).catch(() => {})
    }
  }

  /** Builds the net; on any failure what was made is removed. */
  static async up(opts: NatOptions): Promise<NatNet> {
    const m = await claim()
    const net = new NatNet(m, mkdtempSync(join(tmpdir(), 'p2pay-nat-')))
    try {
      await net.build(opts)
      return net
    } catch (err) {
      await net.down()
      throw err
    }
  }

  private async build(opts: NatOptions): Promise<void> {
    const { wan, prefix, base } = this
    await sh('ip', '-n', wan, 'link', 'add', 'br0', 'type', 'bridge')
    await sh('ip', '-n', wan, 'link', 'set', 'br0', 'up')
    await sh('ip', '-n', wan, 'link', 'set', 'lo', 'up')
    // the management link: the runner's end stays in the root namespace
    const mgmt = `${prefix}mgmt`
    await sh('ip', 'link', 'add', mgmt, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', wan)
    await sh('ip', '-n', wan, 'link', 'set', 'mgmt', 'master', 'br0', 'up')
    await sh('ip', 'addr', 'add', `${this.mgmtIp}/24`, 'dev', mgmt)
    await sh('ip', 'link', 'set', mgmt, 'up')

    for (let i = 0; i < opts.publicHosts; i++) {
      const h: NatHost = { name: `pub${i}`, ns: `${prefix}pub${i}`, ip: `${base}.0.${HOST_BASE + i}` }
      await this.plug(h.ns, wan, `p${i}`, 'br0', `${h.ip}/24`)
      this.hosts.push(h)
    }
    for (let l = 1; l <= opts.lans; l++) {
      const r = `${prefix}r${l}`
      await this.plug(r, wan, `r${l}`, 'br0', `${this.routerIp(l)}/24`)
      await sh('ip', '-n', r, 'link', 'add', 'br0', 'type', 'bridge')
      await sh('ip', '-n', r, 'addr', 'add', `${base}.${l}.1/24`, 'dev', 'br0')
      await sh('ip', '-n', r, 'link', 'set', 'br0', 'up')
      await nsExec(r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
      await this.natRules(r, l, opts.publicHosts, opts.portForward?.includes(l) === true)
      for (let j = 0; j < opts.hostsPerLan; j++) {
        const h: NatHost = {
          name: `l${l}h${j}`,
          ns: `${prefix}l${l}h${j}`,
          ip: `${base}.${l}.${HOST_BASE + j}`,
          lan: l
        }
        await this.plug(h.ns, r, `h${j}`, 'br0', `${h.ip}/24`)
        await sh('ip', '-n', h.ns, 'route', 'add', 'default', 'via', `${base}.${l}.1`)
        this.hosts.push(h)
      }
      // the runner reaches the LAN's control APIs through its router (the router lets only it in)
      await sh('ip', 'route', 'add', `${base}.${l}.0/24`, 'via', this.routerIp(l), 'dev', mgmt)
    }
    // a LAN address dialled from outside reaches its router and is dropped there, as a private address that leaked
    // onto the internet goes nowhere: a dial to it hangs until its timeout rather than failing at once
    for (let l = 1; l <= opts.lans; l++) {
      const others = [
        ...this.hosts.filter(h => h.lan == null).map(h => h.ns),
        ...range(opts.lans)
          .filter(x => x !== l)
          .map(x => `${prefix}r${x}`)
      ]
      for (const ns of others) await sh('ip', '-n', ns, 'route', 'add', `${base}.${l}.0/24`, 'via', this.routerIp(l))
    }
  }

  /** Namespace `ns` with eth0 at `cidr`, its other end `port` on bridge `br` of namespace `at`. */
  private async plug(ns: string, at: string, port: string, br: string, cidr: string): Promise<void> {
    await sh('ip', 'netns', 'add', ns)
    await sh('ip', '-n', at, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    await sh('ip', '-n', at, 'link', 'set', port, 'master', br, 'up')
    await sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', 'eth0')
    await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up')
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
  }

  /**
   * The router of LAN l: masquerade what leaves the LAN; let in only replies
   * (conntrack) and the runner; one counting rule per public host each way, so a
   * test can read what went between the LAN and that host (a relay).
   */
  private async natRules(r: string, l: number, publicHosts: number, forward: boolean): Promise<void> {
    const rule = async (spec: string): Promise<string> => await iptables(r, ...spec.split(' '))
    await rule(`-t nat -A POSTROUTING -s ${this.base}.${l}.0/24 -o eth0 -j MASQUERADE`)
    for (let i = 0; i < publicHosts; i++) {
      const ip = `${this.base}.0.${HOST_BASE + i}`
      await rule(`-A FORWARD -i br0 -o eth0 -d ${ip}`)
      await rule(`-A FORWARD -i eth0 -o br0 -s ${ip}`)
    }
    await rule('-A FORWARD -i eth0 -o br0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT')
    if (forward) {
      // the one way in: the router's libp2p port leads to host 0 of its LAN (a node behind a known public address)
      const to = `${this.base}.${l}.${HOST_BASE}`
      await rule(`-t nat -A PREROUTING -i eth0 -p tcp --dport ${P2P_PORT} -j DNAT --to-destination ${to}:${P2P_PORT}`)
      await rule(`-A FORWARD -i eth0 -o br0 -d ${to} -p tcp --dport ${P2P_PORT} -m conntrack --ctstate DNAT -j ACCEPT`)
    }
    await rule(`-A FORWARD -i eth0 -o br0 -s ${this.mgmtIp} -j ACCEPT`)
    await rule('-A FORWARD -i eth0 -o br0 -j DROP')
  }

  host(name: string): NatHost {
    const h = this.hosts.find(x => x.name === name)
    if (h == null) throw new Error(`no host ${name}`)
    return h
  }

  /** Starts a daemon through the CLI in host `h`'s namespace, listening on the host's address. */
  async start(kind: DaemonKind, h: NatHost, name: string, args: string[] = []): Promise<Daemon> {
    const d = new Daemon(
      kind,
      join(this.dir, name),
      ['--listen', `/ip4/${h.ip}/tcp/${P2P_PORT}`, '--api-host', h.ip, '--api-port', '0', ...args],
      { prefix: ['ip', 'netns', 'exec', h.ns] }
    )
    this.daemons.push(d)
    return await d.start(START_MS)
  }

  /**
   * Bytes router `lan` forwarded between its LAN and public host `ip`, each way, and
   * packets the router dropped coming in (nothing may enter a LAN uninvited).
   */
  async counters(lan: number, ip: string): Promise<{ out: number; in: number; dropped: number }> {
    const rows = (await iptables(`${this.prefix}r${lan}`, '-L', 'FORWARD', '-v', '-x', '-n'))
      .split('\n')
      .map(l => l.trim().split(/\s+/))
    const bytes = (pred: (r: string[]) => boolean): number => rows.filter(pred).reduce((n, r) => n + Number(r[1]), 0)
    // columns: pkts bytes target prot opt in out source destination; a counting rule has no target
    const counting = (r: string[]): boolean => r.length === 8
    return {
      out: bytes(r => counting(r) && r[4] === 'br0' && r[7] === ip),
      in: bytes(r => counting(r) && r[4] === 'eth0' && r[6] === ip),
      dropped: rows.filter(r => r[2] === 'DROP').reduce((n, r) => n + Number(r[0]), 0)
    }
  }

  /** Stops every daemon (by pid), removes every namespace and link of this net and its temp dir. */
  async down(): Promise<string[]> {
    await Promise.allSettled(this.daemons.map(async d => await d.stop(10_000)))
    const failed = await teardown(this.prefix)
    if (process.env.P2PAY_KEEP_TEST_DIRS == null) rmSync(this.dir, { recursive: true, force: true })
    return failed
  }
}

/** Claims a free net number by creating its wan namespace (`ip netns add` fails on a name that exists). */
async function claim(): Promise<number> {
  for (let m = 0; m < MAX_NETS; m++) {
    try {
      await sh('ip', 'netns', 'add', `${PREFIX}${m}-wan`)
      return m
    } catch {}
  }
  throw new Error(`no free NAT net below ${MAX_NETS} (leftovers? node scripts/testnet/nat.ts down)`)
}

/**
 * Removes everything named with `prefix` as a testnet's teardown does (the processes in its namespaces by pid, the
 * namespaces with their links, rules and bridges, any link left), and reports anything still there.
 */
export async function teardown(prefix = PREFIX): Promise<string[]> {
  const failed = await removeAll(prefix)
  for (const l of await links(prefix)) failed.push(`link ${l} is left`)
  for (const ns of await namespaces(prefix)) failed.push(`namespace ${ns} is left`)
  return failed
}

if (import.meta.main) {
  const cmd = process.argv[2]
  if (cmd !== 'down') {
    console.error('usage: node scripts/testnet/nat.ts down   (removes every p2n- namespace, link and process)')
    process.exit(2)
  }
  const failed = await teardown()
  for (const f of failed) console.error(f)
  process.exit(failed.length > 0 ? 1 : 0)
}
