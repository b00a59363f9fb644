// A testnet of hosts on one machine: one network namespace per host on a
// bridge of its own (10.77.<n>.0/24), daemons started through the real CLI in
// their host's namespace, listening on the host's address, and faults between
// hosts. `down()` leaves no namespace, link, rule or process behind; so does
// `npm run testnet -- down` after a runner that died.
import type { ChildProcess } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Daemon, type DaemonKind } from '../lib/swarm.ts'
import { addHost, claimBridge, HOST_BASE, MAX_HOSTS, netPrefix, sh, subnet, teardown } from './netns.ts'
import { clearBandwidth, cutFrom, healAll, prepareChains, setBandwidth, setLoss } from './faults.ts'
import { addLatency, removeLatency } from './latency.ts'

export interface Host {
  name: string
  ns: string
  ip: string
  index: number
}

/** libp2p port of the first daemon on a host; a second one on the same host takes the next. */
export const FIRST_PORT = 4001
/** daemons one host may run (latency redirects this many libp2p ports) */
export const DAEMONS_PER_HOST = 4
const LIBP2P_PORTS = Array.from({ length: DAEMONS_PER_HOST }, (_, k) => FIRST_PORT + k)
/** how long a daemon may take to start: many starting together on 2 cores are slow */
const START_MS = 90_000

export class Testnet {
  /** the testnet's number: its names start with `p2t-<n>-`, its addresses with 10.77.<n>. */
  readonly n: number
  readonly dir: string
  readonly hosts: Host[]
  /** every daemon started, in order */
  readonly daemons: Daemon[] = []
  private readonly ports = new Map<Host, number>()
  private readonly placed = new Map<Daemon, Host>()
  private readonly relays = new Map<Host, ChildProcess>()
  private readonly ownDir: boolean

  private constructor(n: number, dir: string, hosts: Host[], ownDir: boolean) {
    this.n = n
    this.dir = dir
    this.hosts = hosts
    this.ownDir = ownDir
  }

  /** The prefix of every namespace and link of this testnet (helpers that add some use it too). */
  get prefix(): string {
    return netPrefix(this.n)
  }

  /** The root end of the bridge: where the runner's API calls come from. */
  get gateway(): string {
    return `${subnet(this.n)}.1`
  }

  /** Whether this machine can run a testnet, and why not. */
  static async available(): Promise<{ ok: true } | { ok: false; why: string }> {
    if (process.platform !== 'linux')
      return { ok: false, why: `network namespaces need Linux, not ${process.platform}` }
    if (process.getuid?.() !== 0) return { ok: false, why: 'network namespaces need root' }
    for (const [cmd, arg] of [
      ['ip', '-V'],
      ['iptables', '-V'],
      ['tc', '-V']
    ]) {
      try {
        await sh(cmd, arg)
      } catch {
        return {
          ok: false,
          why: `${cmd} is not installed (apt-get install -y ${cmd === 'iptables' ? cmd : 'iproute2'})`
        }
      }
    }
    const probe = `${netPrefix(999)}probe${process.pid}`
    try {
      await sh('ip', 'netns', 'add', probe)
      await sh(
        'ip',
        'netns',
        'exec',
        probe,
        'iptables',
        '-w',
        '5',
        '-A',
        'INPUT',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        '0.5',
        '-j',
        'DROP'
      )
    } catch (err) {
      return { ok: false, why: `cannot make a network namespace with iptables rules: ${(err as Error).message}` }
    } finally {
      await sh('ip', 'netns', 'del', probe).catch(() => {})
    }
    return { ok: true }
  }

  /** Makes the bridge and `hosts` namespaces; on any failure removes what it made. */
  static async up(opts: { hosts: number; dir?: string }): Promise<Testnet> {
    if (!(Number.isInteger(opts.hosts) && opts.hosts > 0 && opts.hosts <= MAX_HOSTS))
      throw new Error(`hosts: 1 to ${MAX_HOSTS}, got ${opts.hosts}`)
    const n = await claimBridge()
    const ownDir = opts.dir === undefined
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'p2pay-testnet-'))
    const hosts = Array.from({ length: opts.hosts }, (_, i) => ({
      name: `h${i}`,
      ns: `${netPrefix(n)}${i}`,
      ip: `${subnet(n)}.${HOST_BASE + i}`,
      index: i
    }))
    const net = new Testnet(n, dir, hosts, ownDir)
    try {
      for (const h of hosts) {
        await addHost(n, h.ns, h.ip)
        await prepareChains(h.ns)
      }
      writeFileSync(join(dir, 'testnet.json'), JSON.stringify({ n, prefix: net.prefix, hosts }, null, 2))
    } catch (err) {
      await net.down()
      throw err
    }
    return net
  }

  /**
   * Starts a daemon through the CLI in `host`'s namespace, listening on the
   * host's address, its control API on that address too (the runner reaches it
   * over the bridge). Its data dir is `<dir>/<host>-<kind>`, its log beside it.
   */
  async start(kind: DaemonKind, host: Host, args: string[] = []): Promise<Daemon> {
    const port = this.ports.get(host) ?? FIRST_PORT
    if (port >= FIRST_PORT + DAEMONS_PER_HOST) throw new Error(`${host.name} runs ${DAEMONS_PER_HOST} daemons already`)
    this.ports.set(host, port + 1)
    const dataDir = join(this.dir, port === FIRST_PORT ? `${host.name}-${kind}` : `${host.name}-${kind}-${port}`)
    const d = new Daemon(kind, dataDir, ['--listen', `/ip4/${host.ip}/tcp/${port}`, '--api-host', host.ip, ...args], {
      prefix: ['ip', 'netns', 'exec', host.ns]
    })
    this.daemons.push(d)
    this.placed.set(d, host)
    await d.start(START_MS)
    this.record(d)
    return d
  }

  /** Restarts a daemon (stopped or killed) with its data dir and port. */
  async restart(d: Daemon): Promise<Daemon> {
    await d.start(START_MS)
    this.record(d)
    return d
  }

  /** The host a daemon runs on. */
  hostOf(d: Daemon): Host {
    const h = this.placed.get(d)
    if (h === undefined) throw new Error(`${d.dataDir} is not a daemon of this testnet`)
    return h
  }

  /** Drops all traffic between every host of `a` and every host of `b` until `heal()`. */
  async partition(a: Host[], b: Host[]): Promise<void> {
    const addrs = (hs: Host[]): string[] => hs.flatMap(x => this.addrsOf(x))
    for (const h of a) await cutFrom(h.ns, addrs(b))
    for (const h of b) await cutFrom(h.ns, addrs(a))
  }

  /** a host's addresses: its own, and the one its delay relay connects from while it has latency */
  addrsOf(h: Host): string[] {
    return this.relays.has(h) ? [h.ip, this.aliasOf(h)] : [h.ip]
  }

  private aliasOf(h: Host): string {
    return `${subnet(this.n)}.${HOST_BASE + MAX_HOSTS + h.index}`
  }

  /**
   * Every byte of a libp2p connection into or out of `h` opened from now on is
   * held `ms` each way (a relay in its namespace, see latency.ts); 0 ends it.
   * Connections open already keep their path.
   */
  async latency(h: Host, ms: number): Promise<void> {
    if (!(Number.isInteger(ms) && ms >= 0)) throw new Error(`latency: ms a whole number, got ${ms}`)
    const old = this.relays.get(h)
    if (old !== undefined) {
      await removeLatency(h.ns, this.aliasOf(h))
      old.kill('SIGKILL')
      this.relays.delete(h)
    }
    if (ms === 0) return
    const relay = await addLatency({
      ns: h.ns,
      ip: h.ip,
      alias: this.aliasOf(h),
      others: this.hosts.filter(x => x !== h).map(x => ({ index: x.index, ip: x.ip })),
      ports: LIBP2P_PORTS,
      ms
    })
    this.relays.set(h, relay)
    appendFileSync(join(this.dir, 'pids'), `${relay.pid} delay-relay ${h.name}\n`)
  }

  async heal(): Promise<void> {
    for (const h of this.hosts) await healAll(h.ns)
  }

  /** Each packet into or out of `h` is lost with probability percent/100 (0 ends it). */
  async loss(h: Host, percent: number): Promise<void> {
    await setLoss(h.ns, percent)
  }

  /** `h` sends and receives at most `kbit` kbit/s. */
  async bandwidth(h: Host, kbit: number): Promise<void> {
    await setBandwidth(h.ns, h.ns, kbit)
  }

  /** Ends loss, bandwidth limits and latency on `h` (every host when none is given); without a host, heals too. */
  async clearFaults(h?: Host): Promise<void> {
    for (const x of h !== undefined ? [h] : this.hosts) {
      await setLoss(x.ns, 0)
      await clearBandwidth(x.ns, x.ns)
      await this.latency(x, 0)
    }
    if (h === undefined) await this.heal()
  }

  /** SIGSTOP: the process stays, its sockets stay open, it answers nothing. */
  freeze(d: Daemon): void {
    d.proc?.kill('SIGSTOP')
  }

  thaw(d: Daemon): void {
    d.proc?.kill('SIGCONT')
  }

  /**
   * Stops every daemon (SIGTERM, then -9 for one that hangs or is frozen), then
   * removes the namespaces, links and processes of this testnet. Its dir goes too
   * unless `keep` (for logs after a failure) or P2PAY_KEEP_TEST_DIRS.
   */
  async down(opts: { keep?: boolean } = {}): Promise<void> {
    await Promise.all(
      this.daemons.map(async d => {
        this.thaw(d)
        await d.stop(10_000).catch(() => {})
      })
    )
    for (const r of this.relays.values()) r.kill('SIGKILL')
    const failed = await teardown(this.prefix)
    const keep = opts.keep === true || process.env.P2PAY_KEEP_TEST_DIRS != null || !this.ownDir
    if (!keep) rmSync(this.dir, { recursive: true, force: true })
    if (failed.length > 0) throw new Error(`testnet down left: ${failed.join('; ')}`)
  }

  /** Pids of the daemons, for a reader of the dir (down itself finds processes by namespace). */
  private record(d: Daemon): void {
    appendFileSync(join(this.dir, 'pids'), `${d.pid} ${d.kind} ${d.dataDir}\n`)
  }
}
