// A Karma swarm of many libp2p nodes in a few host processes (karma-host.ts),
// as the scale benchmark drives it: start N nodes bootstrapped off each other,
// wait until their DHT views settle, let nodes leave and new ones join, and sum
// the hosts' counters, CPU and memory.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bankSet } from '@p2pay/karma'
import { KarmaHost, type HostStats, type SwarmNode } from './karma-hosts.ts'

export const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

/**
 * nodes a host starts at once. 4 (32 at once in 8 hosts on 2 cores) overloaded a 256-node start: kad-dht's pings of
 * new contacts and its start-up lookups timed out, routing tables stayed sparse (one was empty, bank members knew 0
 * to 2 of the other 4), and settle() found the true bank-set 3 times in 24. With 2, every table held 22 peers or
 * more and 12 of 12 sampled raw DHT lookups found the true set; settle(), through the Karma view on a machine then
 * at load 8-11, found it 12 and 8 times in 24.
 */
const START_CONCURRENCY = 2
/** bootstrap addresses a new node gets (random live nodes) */
const BOOTSTRAP_PEERS = 3
/** a node is started this often at most (each time with other bootstrap peers) */
const START_ATTEMPTS = 3

export interface ScaleOptions {
  nodes: number
  processes: number
  k: number
  syncMs: number
  powBits: number
  /** seeded random choices: which nodes bootstrap off which, pay whom, leave */
  rnd: (n: number) => number
}

/** Summed over every host process. */
export interface SwarmStats {
  cpuMs: number
  rssMiB: number
  kinds: HostStats['kinds']
  lookups: number
  rpcs: number
  queriesBy: Record<string, number>
  connections: number
  fds: number
  nodes: number
}

export class ScaleSwarm {
  readonly dir: string
  readonly opts: ScaleOptions
  readonly hosts: KarmaHost[] = []
  readonly nodes: SwarmNode[] = []
  private nextIndex = 0

  constructor(opts: ScaleOptions) {
    this.opts = opts
    this.dir = mkdtempSync(join(tmpdir(), `p2pay-karma-scale-${opts.nodes}-`))
    for (let h = 0; h < opts.processes; h++) this.hosts.push(new KarmaHost(h, join(this.dir, `host${h}.log`)))
  }

  get live(): SwarmNode[] {
    return this.nodes.filter(n => n.live)
  }

  pick<T>(xs: T[]): T {
    return xs[this.opts.rnd(xs.length)]
  }

  /** bootstrap addresses for a new node: a few random live nodes */
  private bootstrapFor(): string[] {
    const live = this.live
    const out = new Set<string>()
    for (let i = 0; i < BOOTSTRAP_PEERS * 3 && out.size < Math.min(BOOTSTRAP_PEERS, live.length); i++) {
      const n = this.pick(live)
      const a = n.addrs[0]
      out.add(a.includes('/p2p/') ? a : `${a}/p2p/${n.id}`)
    }
    return [...out]
  }

  /** Starts one node on `host` (the least loaded when not given). */
  async add(host?: KarmaHost): Promise<SwarmNode> {
    const h =
      host ??
      this.hosts.reduce((a, b) =>
        this.live.filter(n => n.host === a).length <= this.live.filter(n => n.host === b).length ? a : b
      )
    let r: { index: number; id: string; addrs: string[] } | undefined
    let index = 0
    for (let attempt = 1; r === undefined; attempt++) {
      index = this.nextIndex++
      try {
        r = await h.call<{ index: number; id: string; addrs: string[] }>('start', {
          index,
          dir: join(this.dir, `n${index}`),
          bootstrap: this.bootstrapFor(),
          k: this.opts.k,
          syncMs: this.opts.syncMs,
          powBits: this.opts.powBits
        })
      } catch (err) {
        // a node that reached none of its bootstrap peers: another one, off other peers
        if (attempt >= START_ATTEMPTS) throw err
      }
    }
    const node: SwarmNode = { index, id: r.id, addrs: r.addrs, host: h, live: true, account: false }
    this.nodes.push(node)
    return node
  }

  /** Starts the N nodes: the first alone, then every host starts its share a few at a time. */
  async start(): Promise<void> {
    await this.add(this.hosts[0])
    const share = this.hosts.map((_, h) => {
      let n = Math.floor(this.opts.nodes / this.hosts.length) + (h < this.opts.nodes % this.hosts.length ? 1 : 0)
      if (h === 0) n--
      return n
    })
    await Promise.all(
      this.hosts.map(async (h, i) => {
        const lanes = Array.from({ length: START_CONCURRENCY }, async (_, lane) => {
          for (let j = lane; j < share[i]; j += START_CONCURRENCY) await this.add(h)
        })
        await Promise.all(lanes)
      })
    )
  }

  /** A node leaves for good: it stops (its peers see the disconnects). */
  async leave(node: SwarmNode): Promise<void> {
    node.live = false
    await node.host.call('stop', { index: node.index })
  }

  /** bank(account) over the live nodes: what every view should compute once settled */
  trueBank(account: string): string[] {
    return bankSet(
      account,
      this.live.map(n => n.id),
      this.opts.k
    )
  }

  /** The fewest Karma peers any live node is connected to. */
  async fewestInSight(): Promise<number> {
    const all = await Promise.all(this.hosts.map(async h => await h.call<number[]>('inSight')))
    return Math.min(...all.flat())
  }

  /**
   * Waits until every live node is connected to more than k Karma peers and every one of a sample of nodes computes,
   * by a fresh DHT lookup, the true bank of a few sample accounts (or the deadline). Returns the share of (node,
   * account) pairs that matched at the end.
   */
  async settle(
    deadlineMs: number,
    samples: number
  ): Promise<{ ms: number; matched: number; checked: number; fewestInSight: number }> {
    const t0 = performance.now()
    const accounts = Array.from({ length: 3 }, () => this.pick(this.live).id)
    let matched = 0
    let checked = 0
    let fewest = 0
    while (true) {
      fewest = await this.fewestInSight()
      if (fewest <= this.opts.k && performance.now() - t0 < deadlineMs) {
        await sleep(1000)
        continue
      }
      const askers = Array.from({ length: Math.min(samples, this.live.length) }, () => this.pick(this.live))
      const pairs = askers.flatMap(n => accounts.map(a => ({ n, a })))
      const ok = await Promise.all(
        pairs.map(async ({ n, a }) => {
          try {
            const bank = await n.host.call<string[]>('bank', { index: n.index, account: a, fresh: true })
            return JSON.stringify([...bank].sort()) === JSON.stringify([...this.trueBank(a)].sort())
          } catch {
            return false
          }
        })
      )
      matched = ok.filter(Boolean).length
      checked = ok.length
      if (matched === checked || performance.now() - t0 > deadlineMs) break
      await sleep(2000)
    }
    return { ms: Math.round(performance.now() - t0), matched, checked, fewestInSight: fewest }
  }

  async stats(): Promise<SwarmStats> {
    const all = await Promise.all(this.hosts.map(async h => await h.call<HostStats>('stats')))
    const out: SwarmStats = {
      cpuMs: 0,
      rssMiB: 0,
      kinds: {},
      lookups: 0,
      rpcs: 0,
      queriesBy: {},
      connections: 0,
      fds: 0,
      nodes: 0
    }
    for (const s of all) {
      out.cpuMs += (s.cpu.user + s.cpu.system) / 1000
      out.rssMiB += s.rss / 2 ** 20
      out.lookups += s.dht.lookups
      out.rpcs += s.dht.rpcs
      out.connections += s.connections
      out.fds += s.fds
      out.nodes += s.nodes
      for (const [why, q] of Object.entries(s.dht.queriesBy)) out.queriesBy[why] = (out.queriesBy[why] ?? 0) + q
      for (const [kind, c] of Object.entries(s.kinds)) {
        const o = (out.kinds[kind] ??= { messages: 0, generated: 0, verified: 0 })
        o.messages += c.messages
        o.generated += c.generated
        o.verified += c.verified
      }
    }
    return out
  }

  /**
   * Waits until no payer has a pending transfer and no outbox holds a notice (or the deadline). Under churn an outbox
   * may owe a notice to a member that left for good (it is owed to every member bank(B) had since the debit, for
   * 10 minutes): `outboxGraceMs` after the payers are done, what is left in the outboxes is reported, not waited for.
   */
  async quiet(deadlineMs: number, outboxGraceMs = deadlineMs): Promise<{ done: boolean; outbox: number; ms: number }> {
    const t0 = performance.now()
    let payersDone: number | undefined
    let outbox = 0
    while (true) {
      const p = await Promise.all(
        this.hosts.map(async h => await h.call<{ outbox: number; pendingOwn: number }>('pending'))
      )
      outbox = p.reduce((s, x) => s + x.outbox, 0)
      const pending = p.reduce((s, x) => s + x.pendingOwn, 0)
      const now = performance.now()
      if (pending === 0) payersDone ??= now
      const ms = Math.round(now - t0)
      if (pending === 0 && outbox === 0) return { done: true, outbox, ms }
      if (now - t0 > deadlineMs || (payersDone !== undefined && now - payersDone > outboxGraceMs))
        return { done: false, outbox, ms }
      await sleep(500)
    }
  }

  /** Stops every host (each stops its nodes) and removes the data dirs unless asked to keep them. */
  async stop(keep = false): Promise<void> {
    await Promise.all(this.hosts.map(async h => await h.quit()))
    if (!keep) rmSync(this.dir, { recursive: true, force: true })
  }
}
