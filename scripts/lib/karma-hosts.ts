// The coordinator's side of the scale benchmark's host processes: forks each
// karma-host.ts, calls its ops over IPC (every call with a timeout), knows
// which host holds which node, and stops them by pid.
import { fork, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { join } from 'node:path'

const HOST = join(import.meta.dirname, 'karma-host.ts')
/** no single op (a transfer under churn, a node's start) is waited for longer */
const CALL_TIMEOUT_MS = 120_000
/** heap limit of a host process, MiB */
const HEAP_MIB = 8192

export interface HostStats {
  cpu: { user: number; system: number }
  rss: number
  nodes: number
  kinds: Record<string, { messages: number; generated: number; verified: number }>
  dht: { lookups: number; rpcs: number; queriesBy: Record<string, number> }
  connections: number
  fds: number
}

export class KarmaHost {
  readonly child: ChildProcess
  readonly no: number
  private next = 0
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  private exited: Promise<void>

  constructor(no: number, logFile: string) {
    this.no = no
    const fd = openSync(logFile, 'a')
    this.child = fork(HOST, [], {
      stdio: ['ignore', fd, fd, 'ipc'],
      // 64 nodes in one process hold a few GiB: above V8's default heap limit on some machines
      execArgv: [...process.execArgv, `--max-old-space-size=${HEAP_MIB}`],
      serialization: 'advanced',
      env: { ...process.env, P2PAY_LOG_LEVEL: 'warn' }
    })
    closeSync(fd)
    this.child.on('message', (m: { id: number; value?: unknown; error?: { message: string; code?: string } }) => {
      const w = this.waiting.get(m.id)
      if (w == null) return
      this.waiting.delete(m.id)
      if (m.error != null) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
      else w.resolve(m.value)
    })
    this.exited = new Promise(resolve => this.child.once('exit', () => resolve()))
    void this.exited.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`karma host ${no} exited`))
      this.waiting.clear()
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  async call<T = any>(op: string, args: unknown = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const id = this.next++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error(`karma host ${this.no}: ${op} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiting.set(id, {
        resolve: v => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: e => {
          clearTimeout(timer)
          reject(e)
        }
      })
      this.child.send({ id, op, args })
    })
  }

  /** Stops every node it hosts and waits for the process to end (killed by its pid after 30 s). */
  async quit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    await this.call('quit', {}, 30_000).catch(() => {})
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** A node of the swarm as the coordinator knows it. */
export interface SwarmNode {
  index: number
  id: string
  addrs: string[]
  host: KarmaHost
  live: boolean
  /** has a Karma account (joined) */
  account: boolean
}
