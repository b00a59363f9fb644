// Starts real daemons as separate processes through the p2pay CLI, on
// 127.0.0.1 with temporary data dirs, and stops every one of them by pid.
// Shared by the integration tests, the demo and the benchmarks.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '..', '..')
export const CLI = join(ROOT, 'packages', 'cli', 'bin', 'p2pay.js')
const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details?: unknown
  constructor(status: number, code: string, message: string, details?: unknown) {
    // the daemon's details (who answered what) are in the message: a failed wait in a test shows them
    super(details === undefined ? message : `${message} ${JSON.stringify(details)}`)
    this.status = status
    this.code = code
    this.details = details
  }
}

/** The ApiError a non-2xx answer stands for: its JSON error, or the text as it came. */
export function apiError(status: number, text: string): ApiError {
  let e: any = {}
  try {
    e = JSON.parse(text).error ?? {}
  } catch {}
  return new ApiError(status, e.code ?? 'HTTP', e.message ?? text, e.details)
}

/** The CLI's first word: `p2pay <kind> start`. */
export type DaemonKind = 'broker' | 'node' | 'ttp' | 'judge'

export class Daemon {
  readonly kind: DaemonKind
  readonly dataDir: string
  readonly args: string[]
  proc?: ChildProcess
  peerId = ''
  addr = ''
  apiPort = 0
  /** where the control API listens (api.json's apiHost): 127.0.0.1 unless started with --api-host */
  apiHost = '127.0.0.1'
  /** a command the daemon runs under, e.g. `ip netns exec <ns>` to run it in a network namespace */
  readonly prefix: string[]
  private token = ''
  exited?: Promise<number | null>

  constructor(kind: DaemonKind, dataDir: string, args: string[], opts: { prefix?: string[] } = {}) {
    this.kind = kind
    this.dataDir = dataDir
    this.args = args
    this.prefix = opts.prefix ?? []
  }

  get pid(): number {
    return this.proc?.pid ?? 0
  }

  async start(timeoutMs = 60_000): Promise<this> {
    rmSync(join(this.dataDir, 'api.json'), { force: true })
    const log = openSync(join(this.dataDir + '.log'), 'a')
    // a restart keeps the port it had, as a configured daemon would (one given --listen keeps it anyway)
    const listen =
      this.addr !== '' && !this.args.includes('--listen')
        ? ['--listen', this.addr.slice(0, this.addr.indexOf('/p2p/'))]
        : []
    // P2PAY_NODE_ARGS passes runtime flags to the daemons (e.g. --cpu-prof when profiling)
    const nodeArgs = process.env.P2PAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []
    const argv = [...nodeArgs, CLI, this.kind, 'start', '--data-dir', this.dataDir, ...listen, ...this.args]
    // `ip netns exec` execs the command in place, so the pid is still the daemon's own
    const [cmd, ...pre] = [...this.prefix, process.execPath]
    this.proc = spawn(cmd, [...pre, ...argv], { stdio: ['ignore', log, log] })
    closeSync(log)
    const proc = this.proc
    this.exited = new Promise(res => proc.once('exit', code => res(code)))
    const deadline = Date.now() + timeoutMs
    const info = join(this.dataDir, 'api.json')
    while (Date.now() < deadline) {
      if (proc.exitCode != null) throw new Error(`${this.kind} exited with ${proc.exitCode}: ${this.logTail()}`)
      if (existsSync(info)) {
        try {
          const j = JSON.parse(readFileSync(info, 'utf8'))
          if (j.pid === proc.pid) {
            this.peerId = j.peerId
            this.addr = j.addrs[0]
            this.apiPort = j.apiPort
            // a daemon listening on every interface is still reached on loopback
            this.apiHost =
              typeof j.apiHost === 'string' && !['0.0.0.0', '::'].includes(j.apiHost) ? j.apiHost : '127.0.0.1'
            this.token = readFileSync(join(this.dataDir, 'api.token'), 'utf8').trim()
            return this
          }
        } catch {}
      }
      await sleep(50)
    }
    throw new Error(`${this.kind} did not start within ${timeoutMs} ms: ${this.logTail()}`)
  }

  logTail(lines = 15): string {
    try {
      return readFileSync(this.dataDir + '.log', 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n')
    } catch {
      return ''
    }
  }

  /** Control API call; throws ApiError on a non-2xx answer. */
  async api<T = any>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { token?: string | null; raw?: string } = {}
  ): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const token = opts.token === undefined ? this.token : opts.token
    if (token != null) headers.authorization = `Bearer ${token}`
    const res = await fetch(`http://${this.apiHost}:${this.apiPort}${path}`, {
      method,
      headers,
      body: method === 'POST' ? (opts.raw ?? JSON.stringify(body ?? {})) : undefined,
      signal: AbortSignal.timeout(60_000)
    })
    const text = await res.text()
    if (!res.ok) throw apiError(res.status, text)
    return (res.headers.get('content-type')?.startsWith('application/json') === true ? JSON.parse(text) : text) as T
  }

  /** Runs a p2pay client command against this daemon as its own process; its answer in full, as data. */
  async cli(...args: string[]): Promise<any> {
    const argv = [CLI, ...args, '--data-dir', this.dataDir, '--full', '--json']
    const { stdout } = await run(process.execPath, argv, { timeout: 60_000 })
    return JSON.parse(stdout)
  }

  /** SIGTERM and wait for the orderly exit; its exit code (null if it had to be killed). */
  async stop(timeoutMs = 15_000): Promise<number | null | undefined> {
    if (this.proc == null || this.proc.exitCode != null || this.proc.signalCode != null) return undefined
    this.proc.kill('SIGTERM')
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), timeoutMs)
    const code = await this.exited
    clearTimeout(t)
    return code
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (this.proc == null || this.proc.exitCode != null || this.proc.signalCode != null) return
    this.proc.kill('SIGKILL')
    await this.exited
  }
}

export class Swarm {
  private readonly name: string
  private made?: string
  broker!: Daemon
  readonly nodes: Daemon[] = []
  /** TTPs, judges and any other daemon started through `add` */
  readonly others: Daemon[] = []
  constructor(name: string) {
    this.name = name
  }

  /** The swarm's temp dir, made on first use: a file that only imports a helper module leaves none behind. */
  get dir(): string {
    this.made ??= mkdtempSync(join(tmpdir(), `p2pay-${this.name}-`))
    return this.made
  }

  async startBroker(args: string[] = []): Promise<Daemon> {
    this.broker = new Daemon('broker', join(this.dir, 'broker'), args)
    return await this.broker.start()
  }

  /** Starts n nodes in parallel; all know the broker. */
  async startNodes(n: number, args: string[] = []): Promise<Daemon[]> {
    const base = this.nodes.length
    const made = Array.from(
      { length: n },
      (_, i) =>
        new Daemon('node', join(this.dir, `node${base + i}`), [
          '--broker',
          this.broker.addr,
          '--owner-timeout-ms',
          '2000',
          '--retry-interval-ms',
          '1000',
          ...args
        ])
    )
    // listed before they start: when one fails to start, stopAll still stops the others
    this.nodes.push(...made)
    return await Promise.all(made.map(async d => await d.start()))
  }

  /** Starts a daemon of any kind in `<dir>/<name>`; stopAll stops it too. */
  async add(kind: DaemonKind, name: string, args: string[] = []): Promise<Daemon> {
    const d = new Daemon(kind, join(this.dir, name), args)
    this.others.push(d)
    return await d.start()
  }

  /**
   * The file market's authorities: the judge's identity is made first so the
   * broker can be told who the judge is, then broker, TTP and judge. Returns the
   * flags a node needs to use them.
   */
  async startMarket(
    brokerArgs: string[] = [],
    judgeArgs: string[] = []
  ): Promise<{ broker: Daemon; ttp: Daemon; judge: Daemon; nodeArgs: string[] }> {
    const { stdout } = await run(process.execPath, [CLI, 'identity', '--data-dir', join(this.dir, 'judge'), '--json'], {
      timeout: 60_000
    })
    const judgeId = JSON.parse(stdout).peerId
    const broker = await this.startBroker(['--judge', judgeId, ...brokerArgs])
    const [ttp, judge] = await Promise.all([
      this.add('ttp', 'ttp'),
      this.add('judge', 'judge', ['--broker', broker.addr, ...judgeArgs])
    ])
    return { broker, ttp, judge, nodeArgs: ['--ttp', ttp.addr, '--judge', judge.addr] }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes, ...this.others, this.broker].filter(Boolean).map(async d => await d.stop()))
    if (this.made !== undefined && process.env.P2PAY_KEEP_TEST_DIRS == null)
      rmSync(this.made, { recursive: true, force: true })
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v as T
    } catch (err) {
      last = err
    }
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}${last != null ? `: ${String(last)}` : ''}`)
}

/** Conservation as the broker reports it. */
export async function audit(
  broker: Daemon
): Promise<{ toppedUp: number; balances: number; outstanding: number; holds: boolean }> {
  return await broker.api('GET', '/v1/audit')
}
