// `npm run bench -- karma-scale [--json] [--nodes 16,64,256] [--minutes M]`:
// Karma at growing swarm sizes. Each size is a new swarm of real Karma nodes
// (KarmaService, kad-dht, TCP + Noise + Yamux on 127.0.0.1, LevelDB each) in a
// few host processes. Per transfer: messages and signatures from the nodes'
// Table I counters, the swarm's CPU (process.cpuUsage of every host), Karma's
// DHT lookups and their query messages; then transfers under churn (nodes
// leave, new ones join) with a majority read after each, and conservation.
import { cpus } from 'node:os'
import { ScaleSwarm, sleep, type SwarmStats } from '../lib/karma-scale-swarm.ts'
import type { SwarmNode } from '../lib/karma-hosts.ts'
import { flags, json, say, int } from './common.ts'
import { churnPhase, type ChurnResult } from './karma-scale-churn.ts'
import { INITIAL, Ledger } from './karma-scale-ledger.ts'

/** progress of a run: on stdout with the table, on stderr beside --json (a failed run shows where it was) */
const progress = (line: string): void => {
  if (json) process.stderr.write(line + '\n')
  else say(line)
}
/** a join is tried this often: a node whose DHT view is not complete yet sees fewer than k Karma peers */
const JOIN_ATTEMPTS = 5
const num = (name: string, d: number): number => (typeof flags[name] === 'string' ? Number(flags[name]) : d)
const r1 = (x: number): number => Math.round(x * 10) / 10
const r2 = (x: number): number => Math.round(x * 100) / 100

export interface ScaleSettings {
  k: number
  syncMs: number
  processes: number
  accounts: number
  quietTransfers: number
  /** transfers one at a time after the cold phase, with the caches it filled */
  warmTransfers: number
  churnTransfers: number
  minutes: number
  /** churn events per run at least, whatever 1 %/min of N over the window gives (the clock is then scaled) */
  minChurn: number
  idleMs: number
  seed: number
  keep: boolean
}

/** The cost of a transfer over `n` transfers, from two reads of the swarm's counters. */
function perTransfer(a: SwarmStats, b: SwarmStats, n: number, idleCpuMsPerS: number, ms: number) {
  const kind = (k: string, f: 'messages' | 'generated' | 'verified'): number =>
    (b.kinds[k]?.[f] ?? 0) - (a.kinds[k]?.[f] ?? 0)
  const all = (f: 'messages' | 'generated' | 'verified'): number =>
    Object.keys(b.kinds).reduce((s, k) => s + kind(k, f), 0)
  const cpu = b.cpuMs - a.cpuMs
  const lookups = b.lookups - a.lookups
  return {
    transfers: n,
    ms: Math.round(ms),
    messages: r2(kind('karma-transfer', 'messages') / n),
    generated: r2(kind('karma-transfer', 'generated') / n),
    verified: r2(kind('karma-transfer', 'verified') / n),
    messagesAllKinds: r2(all('messages') / n),
    messagesByKind: Object.fromEntries(Object.keys(b.kinds).map(k => [k, r2(kind(k, 'messages') / n)])),
    cpuMs: r1(cpu / n),
    /** the same, less what the swarm spends idle over the same time (DHT refresh, pings, housekeeping ticks) */
    cpuMsNetOfIdle: r1((cpu - (idleCpuMsPerS * ms) / 1000) / n),
    dhtLookups: r2(lookups / n),
    queryMessagesPerLookup: lookups > 0 ? r1((b.rpcs - a.rpcs) / lookups) : 0,
    lookupsBy: Object.fromEntries(
      Object.keys(b.queriesBy).map(w => [w, r2((b.queriesBy[w] - (a.queriesBy[w] ?? 0)) / n)])
    ),
    from: { before: a, after: b }
  }
}

async function scaleRun(n: number, s: ScaleSettings): Promise<Record<string, any>> {
  let seed = s.seed * 7919 + n
  const rnd = (m: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return Math.floor((seed / 2147483648) * m)
  }
  const processes = Math.min(s.processes, n)
  const swarm = new ScaleSwarm({ nodes: n, processes, k: s.k, syncMs: s.syncMs, powBits: 8, rnd })
  // stopped from outside (a test's timeout, ^C): the hosts and their data dirs go too
  const onSignal = (): void => {
    void swarm.stop(s.keep).finally(() => process.exit(143))
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  const t0 = performance.now()
  try {
    progress(`  N = ${n}: starting ${n} nodes in ${processes} processes ...`)
    await swarm.start()
    const startMs = Math.round(performance.now() - t0)
    const settle = await swarm.settle(60_000 + n * 500, 8)
    progress(
      `    started in ${(startMs / 1000).toFixed(1)} s; DHT views settled in ${(settle.ms / 1000).toFixed(1)} s ` +
        `(${settle.matched}/${settle.checked} fresh bank-sets true; every node sees >= ${settle.fewestInSight} ` +
        'Karma peers)'
    )
    // accounts: spread over the index range (so over the hosts); node 0 is everyone's first bootstrap and stays
    const accounts = Math.min(s.accounts, n)
    const holders: SwarmNode[] = []
    for (let i = 0; i < accounts; i++) holders.push(swarm.nodes[Math.floor((i * n) / accounts)])
    const tj = performance.now()
    const joinFailures: string[] = []
    for (let i = 0; i < holders.length; i += 8)
      await Promise.all(
        holders.slice(i, i + 8).map(async h => {
          for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
            try {
              await h.host.call('join', { index: h.index })
              h.account = true
              return
            } catch (err) {
              if (attempt === JOIN_ATTEMPTS - 1) joinFailures.push(`${h.id}: ${(err as Error).message}`)
              else progress(`    join of ${h.id} failed, again in 2 s: ${(err as Error).message}`)
              await sleep(2000)
            }
          }
        })
      )
    const joinMs = Math.round(performance.now() - tj)
    const joined = holders.filter(h => h.account)
    progress(`    ${joined.length} accounts joined in ${(joinMs / 1000).toFixed(1)} s`)
    const ledger = new Ledger()
    for (const h of joined) ledger.open(h.id)
    const failures = ledger.failures
    if (joined.length < 2) throw new Error(`only ${joined.length} accounts joined: ${joinFailures.join('; ')}`)
    const pair = (): [SwarmNode, SwarmNode] => {
      const payers = joined.filter(h => h.live)
      const a = swarm.pick(payers)
      const others = joined.filter(h => h !== a)
      return [a, swarm.pick(others)]
    }
    await swarm.quiet(60_000)
    // the background: what the swarm spends with no transfer at all
    const i0 = await swarm.stats()
    await sleep(s.idleMs)
    const i1 = await swarm.stats()
    const idleCpuMsPerS = ((i1.cpuMs - i0.cpuMs) / s.idleMs) * 1000

    // quiet phases: transfers one at a time, no churn, each counted from empty outboxes until they are empty again;
    // first with cold caches (a member looks bank(X) up the first time it needs it), then again with the caches the
    // cold phase filled: what a transfer costs a swarm that has run a while
    const quietPhase = async (count: number, name: string) => {
      const p0 = await swarm.stats()
      const t = performance.now()
      for (let i = 0; i < count; i++) {
        const [a, b] = pair()
        await ledger.pay(a, b, 'quiet')
      }
      const emptied = (await swarm.quiet(60_000)).done
      const ms = performance.now() - t
      const r = { ...perTransfer(p0, await swarm.stats(), count, idleCpuMsPerS, ms), outboxesEmptied: emptied }
      progress(
        `    ${name}: ${count} transfers, ${r.messages} messages, ${r.cpuMs} ms CPU ` +
          `(${r.cpuMsNetOfIdle} net of idle), ${r.dhtLookups} DHT lookups each`
      )
      return r
    }
    const quiet = await quietPhase(s.quietTransfers, 'quiet, caches cold')
    const warm = await quietPhase(s.warmTransfers, 'quiet, caches warm')

    // churn phase: transfers spread over the window, nodes leaving and joining on schedule, a majority read after each
    const churn: ChurnResult = await churnPhase(swarm, {
      n,
      transfers: s.churnTransfers,
      minutes: s.minutes,
      minChurn: s.minChurn,
      ledger,
      pair,
      idleCpuMsPerS,
      perTransfer,
      say: progress
    })

    // the end: work drained, then every account read by majority, and every true bank member's own books
    const drained = await swarm.quiet(120_000, 4 * s.syncMs)
    const unsure = await ledger.resolve()
    let total = 0
    const unread: string[] = []
    let ledgerMismatch = 0
    let booksAgree = 0
    for (const h of joined) {
      const reader = swarm.pick(swarm.live)
      try {
        const r = await reader.host.call<{ balance: number }>('read', { index: reader.index, account: h.id })
        total += r.balance
        if (r.balance !== ledger.get(h.id)) ledgerMismatch++
      } catch (err) {
        unread.push(`${h.id}: ${(err as Error).message}`)
      }
      const bank = swarm.trueBank(h.id)
      const rows = (await Promise.all(swarm.hosts.map(async x => await x.call<any[]>('books', { account: h.id }))))
        .flat()
        .filter(r => bank.includes(r.member))
      if (rows.length === bank.length && rows.every(r => r.balance === ledger.get(h.id))) booksAgree++
    }
    const end = await swarm.stats()
    return {
      nodes: n,
      processes,
      nodesPerProcess: Math.ceil(n / processes),
      accounts: joined.length,
      joinFailures,
      startMs,
      settle,
      joinMs,
      idle: { ms: s.idleMs, cpuMsPerSecond: r1(idleCpuMsPerS) },
      quiet,
      warm,
      churn,
      final: {
        drained,
        /** transfers whose call failed: done later (applied to the ledger), still pending, or their payer left */
        unsure,
        conservation: unread.length === 0 && total === joined.length * INITIAL,
        total,
        expected: joined.length * INITIAL,
        unread,
        ledgerMismatch,
        booksAgree: { accounts: booksAgree, of: joined.length },
        rssMiB: Math.round(end.rssMiB),
        connections: end.connections,
        fds: end.fds
      },
      failures,
      runMs: Math.round(performance.now() - t0),
      logs: s.keep ? swarm.dir : undefined
    }
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    await swarm.stop(s.keep)
  }
}

export async function karmaScale(): Promise<void> {
  const sizes = typeof flags.nodes === 'string' ? flags.nodes.split(',').map(Number) : [16, 64, 256]
  const s: ScaleSettings = {
    k: int('k', 5),
    syncMs: int('sync-ms', 5000),
    processes: int('processes', 4),
    accounts: int('accounts', 32),
    quietTransfers: int('quiet-transfers', 40),
    warmTransfers: int('warm-transfers', 80),
    churnTransfers: int('transfers', 120),
    minutes: num('minutes', 2),
    minChurn: int('min-churn', 2),
    idleMs: int('idle-ms', 10_000),
    seed: int('seed', 1),
    keep: flags.keep === true
  }
  say(
    `Karma at scale: N = ${sizes.join(', ')} Karma nodes (KarmaService, kad-dht, TCP + Noise + Yamux on 127.0.0.1, ` +
      `LevelDB each) in ${s.processes} host processes; k = ${s.k}, sync every ${s.syncMs} ms; ` +
      `${s.accounts} accounts; ${s.quietTransfers} transfers one at a time without churn (caches cold), ` +
      `${s.warmTransfers} more (caches warm), then ` +
      `${s.churnTransfers} over ${s.minutes} min of churn at 1 % of N a minute (at least ${s.minChurn} events)`
  )
  const runs: Array<Record<string, any>> = []
  const failed: Array<{ nodes: number; error: string }> = []
  for (const n of sizes) {
    try {
      runs.push(await scaleRun(n, s))
    } catch (err) {
      // a size that cannot finish (a swarm too slow to settle, every join refused) is a finding: the others still count
      failed.push({ nodes: n, error: (err as Error).message })
      progress(`  N = ${n} did not finish: ${(err as Error).message.slice(0, 300)}`)
    }
  }
  if (runs.length === 0) throw new Error(`no swarm size finished: ${JSON.stringify(failed)}`)
  const base = runs[0]
  const ratio = (x: number, y: number): number | null => (y > 0 ? r2(x / y) : null)
  // flatness is read on the warm phase (a swarm that has run a while); the cold one is beside it, and query
  // messages per lookup come from the cold phase, which runs most lookups
  const phaseRatios = (r: Record<string, any>, b: Record<string, any>) => ({
    messages: ratio(r.messages, b.messages),
    cpuMs: ratio(r.cpuMsNetOfIdle, b.cpuMsNetOfIdle),
    dhtLookups: ratio(r.dhtLookups, b.dhtLookups)
  })
  const scaling = runs.map(r => ({
    nodes: r.nodes,
    ...phaseRatios(r.warm, base.warm),
    cold: phaseRatios(r.quiet, base.quiet),
    queryMessagesPerLookup: ratio(r.quiet.queryMessagesPerLookup, base.quiet.queryMessagesPerLookup),
    log2N: r2(Math.log2(r.nodes) / Math.log2(base.nodes))
  }))
  const result = {
    scheme: 'karma-scale',
    machine: { cpus: cpus().length, node: process.version },
    settings: s,
    runs,
    failed,
    scaling,
    agreement: {
      counted:
        'after each transfer of the churn phase, a random live node other than the payer reads the payee and the ' +
        "payer by majority (docs/karma.md: the value a strict majority of bank(account) signed, the reader's view " +
        'of the bank): a read agrees when it answers and equals the ledger of acknowledged transfers; unanimous ' +
        'when all k members signed that value; bank view true when the reader computed the k nearest live nodes',
      target: 0.999
    },
    targets: {
      flat:
        'messages and CPU per transfer flat in N (ratio to the smallest N about 1); DHT query messages per lookup ' +
        'O(log N)',
      agreement: '>= 99.9 %'
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return
  }
  printTable(runs, scaling)
  for (const f of failed) say(`  N = ${f.nodes}: did not finish (${f.error.slice(0, 300)})`)
}

/** columns of the per-transfer table */
const WIDTHS = [8, 7, 10, 9, 9, 11, 8, 17, 13, 19]

function printTable(runs: Array<Record<string, any>>, scaling: Array<Record<string, any>>): void {
  say('')
  say('  per transfer (quiet phases: one at a time, no churn, counted from empty outboxes to empty outboxes)')
  const heads = ['N', 'procs', 'messages', 'sig.gen', 'sig.ver', 'all kinds', 'CPU ms', 'CPU net of idle']
  say([...heads, 'DHT lookups', 'query msgs/lookup'].map((h, i) => h.padStart(WIDTHS[i])).join(''))
  for (const [phase, name] of [
    ['quiet', 'caches cold'],
    ['warm', 'caches warm']
  ]) {
    say(`  ${name}`)
    for (const r of runs) {
      const q = r[phase]
      const cells = [r.nodes, r.processes, q.messages, q.generated, q.verified, q.messagesAllKinds, q.cpuMs]
      cells.push(q.cpuMsNetOfIdle, q.dhtLookups, q.queryMessagesPerLookup)
      say(cells.map((v, i) => String(v).padStart(WIDTHS[i])).join(''))
    }
  }
  say('  ratio to the smallest N, caches warm (cold in brackets); target: about 1 for messages and CPU, query messages')
  say('  per lookup (cold phase) like log2 N')
  for (const x of scaling)
    say(
      `  ${String(x.nodes).padStart(6)}  messages ${x.messages} (${x.cold.messages})  ` +
        `CPU ${x.cpuMs} (${x.cold.cpuMs})  lookups ${x.dhtLookups} (${x.cold.dhtLookups})  ` +
        `query msgs/lookup ${x.queryMessagesPerLookup} (log2 N ratio ${x.log2N})`
    )
  say('')
  say('  under churn (transfers one at a time, paced over the window; a majority read of payee and payer after each)')
  for (const r of runs) {
    const c = r.churn
    say(
      `  N = ${r.nodes}: ${c.transfers} transfers in ${(c.ms / 1000).toFixed(0)} s, ${c.failed} failed; ` +
        `${c.leaves} left and ${c.joins} joined (${c.ratePerMinute} % of N a minute, clock x${c.clockScale}); ` +
        `reads agree ${c.reads.agree}/${c.reads.count} = ${(c.reads.agreement * 100).toFixed(2)} % ` +
        `(target >= 99.9 %), unanimous ${(c.reads.unanimity * 100).toFixed(1)} %, ` +
        `bank view true ${(c.reads.bankViewTrue * 100).toFixed(1)} %`
    )
    say(
      `           per transfer with churn and reads: ${c.cost.messagesAllKinds} messages of all kinds ` +
        `(${JSON.stringify(c.cost.messagesByKind)}), ${c.cost.cpuMs} ms CPU, ${c.cost.dhtLookups} DHT lookups`
    )
    const f = r.final
    say(
      `           end: ${f.drained.outbox} notices left in outboxes (owed to members that left), ` +
        `conservation ${f.conservation ? 'holds' : 'BROKEN'} (${f.total} of ${f.expected} over ` +
        `${r.accounts} accounts${f.unread.length > 0 ? `, ${f.unread.length} unread` : ''}), ` +
        `${f.ledgerMismatch} balances off the ledger, books of every true bank member agree for ` +
        `${f.booksAgree.accounts}/${f.booksAgree.of}; ${f.rssMiB} MiB resident, ${f.connections} connection ends; ` +
        `run ${(r.runMs / 1000).toFixed(0)} s (start ${(r.startMs / 1000).toFixed(0)} s, settle ` +
        `${(r.settle.ms / 1000).toFixed(0)} s, joins ${(r.joinMs / 1000).toFixed(0)} s, idle ` +
        `${r.idle.cpuMsPerSecond} ms CPU/s)`
    )
    if (r.failures.length > 0) say(`           failures: ${r.failures.slice(0, 5).join('; ')}`)
  }
}
