// One OS process hosting many Karma nodes for the scale benchmark: each is a
// libp2p node (TCP + Noise + Yamux, kad-dht) built as `p2pay node` builds it,
// with its own identity, LevelDB, metrics and the real KarmaService. The
// coordinator (karma-hosts.ts) drives it over the fork IPC channel: start,
// join, transfer, read, books, stats, stop one node (a leave), quit.
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import {
  Metrics,
  Store,
  Verifier,
  VerifiedCache,
  buckets,
  createLogger,
  createP2payNode,
  loadOrCreateIdentity,
  nodeEd25519,
  setRequestBudget,
  signerFor
} from '@p2pay/core'
import { KARMA_KINDS, KARMA_TABLES, karma, type KarmaService } from '@p2pay/karma'

export interface HostedStart {
  index: number
  dir: string
  bootstrap: string[]
  k: number
  syncMs: number
  powBits: number
}

interface Hosted {
  index: number
  id: string
  libp2p: Libp2p
  store: Store
  metrics: Metrics
  service: KarmaService
  /** Karma's DHT lookups on this node and the query messages (FIND_NODE) they sent */
  dht: { lookups: number; rpcs: number }
}

const nodes = new Map<number, Hosted>()
/** the counters of the nodes that left, so that the sums over this host never go down */
const departed = { kinds: {} as Record<string, Count>, lookups: 0, rpcs: 0, queriesBy: {} as Record<string, number> }
type Count = { messages: number; generated: number; verified: number }

/** Adds one node's Table I counters, by kind, and its DHT lookups to `to`. */
function addCounts(to: typeof departed, n: Hosted): void {
  for (const kind of KARMA_KINDS) {
    const c = (to.kinds[kind] ??= { messages: 0, generated: 0, verified: 0 })
    c.messages += n.metrics.get('messages_sent_total', kind)
    c.generated += n.metrics.get('signatures_generated_total', kind)
    c.verified += n.metrics.get('signatures_verified_total', kind)
  }
  to.lookups += n.dht.lookups
  to.rpcs += n.dht.rpcs
  for (const [why, q] of Object.entries(n.service.view.queriesBy)) to.queriesBy[why] = (to.queriesBy[why] ?? 0) + q
}
const log = createLogger('karma-host', 'warn')
/** ops that take longer are logged: under churn a call waits on timeouts of members that left */
const SLOW_OP_MS = 5000
const DIAL_TIMEOUT_MS = 10_000

/** Counts the query messages of the lookups the Karma service runs (the DHT's own refreshes go another way). */
function countLookups(libp2p: Libp2p, dht: Hosted['dht']): void {
  const svc = (libp2p.services as { dht?: { getClosestPeers: (...a: any[]) => AsyncIterable<any> } }).dht
  if (svc == null) return
  const real = svc.getClosestPeers.bind(svc)
  svc.getClosestPeers = async function* (...args: any[]) {
    dht.lookups++
    for await (const ev of real(...args)) {
      if (ev.name === 'SEND_QUERY') dht.rpcs++
      yield ev
    }
  }
}

async function start(s: HostedStart): Promise<{ index: number; id: string; addrs: string[] }> {
  mkdirSync(s.dir, { recursive: true, mode: 0o700 })
  const privateKey = await loadOrCreateIdentity(s.dir)
  const store = new Store(join(s.dir, 'db'), { buckets: buckets(KARMA_TABLES) })
  await store.open()
  // no bootstrap list here: the node dials its bootstrap peers once Karma serves, so their first identify lists it
  const libp2p = await createP2payNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  setRequestBudget(libp2p, {})
  const dht = { lookups: 0, rpcs: 0 }
  countLookups(libp2p, dht)
  const metrics = new Metrics()
  const backend = nodeEd25519()
  const verified = new VerifiedCache()
  const service = karma({ k: s.k, syncMs: s.syncMs, powBits: s.powBits })({
    network: libp2p,
    store,
    signer: signerFor(privateKey, backend, metrics, verified),
    verifier: new Verifier(backend, metrics, verified),
    metrics,
    logger: log.child(`n${s.index}`).child('karma')
  }) as KarmaService
  metrics.declareKinds(service.kinds)
  await service.start()
  // a peer identified before it served Karma is seen to by an identify push, which a loaded host can miss
  const dialed = await Promise.allSettled(
    s.bootstrap.map(async a => await libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }))
  )
  const id = libp2p.peerId.toString()
  const n = { index: s.index, id, libp2p, store, metrics, service, dht }
  nodes.set(s.index, n)
  // a node that reached none of them would never be found by the others: the coordinator starts another
  if (s.bootstrap.length > 0 && !dialed.some(d => d.status === 'fulfilled')) {
    await stopNode(s.index)
    throw new Error(`node ${s.index} reached none of its bootstrap peers`)
  }
  return { index: s.index, id, addrs: libp2p.getMultiaddrs().map(String) }
}

/** A node leaves: the service stops, then libp2p (its peers see the disconnect), then LevelDB. */
async function stopNode(index: number): Promise<void> {
  const n = nodes.get(index)
  if (n == null) return
  nodes.delete(index)
  addCounts(departed, n)
  await n.service.stop()
  await n.libp2p.stop()
  await n.store.close()
}

function node(index: number): Hosted {
  const n = nodes.get(index)
  if (n == null) throw new Error(`node ${index} is not hosted here`)
  return n
}

/**
 * What the coordinator sums over hosts: CPU, memory, the Table I counters by kind and DHT lookups (of the nodes here
 * now and of those that left), connections.
 */
function stats(): Record<string, unknown> {
  const sum = structuredClone(departed)
  let connections = 0
  for (const n of nodes.values()) {
    addCounts(sum, n)
    connections += n.libp2p.getConnections().length
  }
  let fds = 0
  try {
    fds = readdirSync('/proc/self/fd').length
  } catch {}
  return {
    cpu: process.cpuUsage(),
    rss: process.memoryUsage.rss(),
    nodes: nodes.size,
    kinds: sum.kinds,
    dht: { lookups: sum.lookups, rpcs: sum.rpcs, queriesBy: sum.queriesBy },
    connections,
    fds
  }
}

const ops: Record<string, (a: any) => Promise<unknown>> = {
  start: async (a: HostedStart) => await start(a),
  stop: async (a: { index: number }) => await stopNode(a.index),
  join: async (a: { index: number }) => await node(a.index).service.account.join(),
  transfer: async (a: { index: number; to: string; amount: number }) =>
    await node(a.index).service.account.transfer(a.to, a.amount),
  read: async (a: { index: number; account: string }) => await node(a.index).service.account.read(a.account),
  bank: async (a: { index: number; account: string; fresh?: boolean }) =>
    await node(a.index).service.view.bank(a.account, a.fresh === true),
  /** the node's own transfers and their state */
  sent: async (a: { index: number }) => {
    const n = node(a.index)
    await n.store.barrier()
    return [...n.service.ctx.t.sent.values()].map(r => ({
      requestHash: r.requestHash,
      to: r.to,
      amount: r.amount,
      status: r.status
    }))
  },
  /** every hosted member's own row of `account` (not a majority read: who holds what) */
  books: async (a: { account: string }) => {
    const out: Array<{ member: string; balance: number; nonce: number }> = []
    for (const n of nodes.values()) {
      await n.store.barrier()
      const row = n.service.member.account(a.account)
      if (row != null) out.push({ member: n.id, balance: row.balance, nonce: row.nonce })
    }
    return out
  },
  /** outbox entries and own pending transfers over the hosted nodes (work still under way) */
  pending: async () => {
    let outbox = 0
    let pendingOwn = 0
    for (const n of nodes.values()) {
      const s = n.service.summary() as { outbox: number; pendingOwn: number }
      outbox += s.outbox
      pendingOwn += s.pendingOwn
    }
    return { outbox, pendingOwn }
  },
  stats: async () => stats(),
  /** Karma peers each hosted node is connected to and knows to speak Karma */
  inSight: async () => [...nodes.values()].map(n => n.service.view.karmaConnected()),
  quit: async () => {
    for (const i of [...nodes.keys()]) await stopNode(i).catch(() => {})
  }
}

process.on('message', (m: { id: number; op: string; args: unknown }) => {
  void (async () => {
    try {
      const fn = ops[m.op]
      if (fn == null) throw new Error(`unknown op ${m.op}`)
      const t0 = performance.now()
      const value = await fn(m.args).finally(() => {
        const ms = performance.now() - t0
        if (ms > SLOW_OP_MS) log.warn('slow op', { op: m.op, args: m.args, ms: Math.round(ms) })
      })
      process.send!({ id: m.id, value }, () => {
        if (m.op === 'quit') process.exit(0)
      })
    } catch (err: any) {
      process.send!({ id: m.id, error: { message: String(err?.message ?? err), code: err?.code } })
    }
  })()
})
// the coordinator went away: nothing is left to drive these nodes
process.on('disconnect', () => process.exit(0))
