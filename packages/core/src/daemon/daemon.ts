// What every p2pay daemon is: a data dir with its identity, a LevelDB store
// with its bucket registry, a libp2p node, the schemes it hosts, and a control
// API; api.json for the CLI; and an orderly stop: no new API requests, the
// schemes abort and finish their work in flight, then libp2p stops and LevelDB
// closes last.
import type { PrivateKey } from '@libp2p/interface'
import { mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { isIP } from 'node:net'
import { getHeapSpaceStatistics } from 'node:v8'
import { createP2payNode, LOOPBACK } from '../wire/libp2p-node.ts'
import { ANY_RELAY } from '../wire/relay.ts'
import { announcesOnlyLoopback } from '../wire/addresses.ts'
import { serveDiag, streamThroughput } from '../wire/diag.ts'
import { DEFAULT_PEER_BUDGET, DEFAULT_TOTAL_BUDGET, setRequestBudget } from '../wire/budget.ts'
import { loadOrCreateIdentity, signerFor } from '../crypto/identity.ts'
import { nodeEd25519, nobleEd25519 } from '../crypto/ed25519.ts'
import { Verifier, VerifiedCache } from '../crypto/signed.ts'
import { Store } from '../store/store.ts'
import type { BucketRegistry } from '../store/tables.ts'
import { Metrics } from '../metrics.ts'
import { createLogger, type Logger } from '../log.ts'
import { dialTarget, party, peerIdOfAddr } from '../party.ts'
import { ErrorCode, P2payError, asError, fail } from '../errors.ts'
import { checkMultiaddr } from '../validate.ts'
import { startControlApi, loadOrCreateToken, API_FILE, type Routes } from './control-api.ts'
import { Lifecycle } from './lifecycle.ts'
import { DASHBOARD_DIR } from '@p2pay/dashboard'
import { mountRoutes, type BaseComponents, type SchemeModule, type SchemeService } from './scheme.ts'
import type { ConfigOf, Spec } from './config.ts'
import { mountPayments, type MountedPayments } from '../payments/mount.ts'
import type { DaemonPayments } from '../payments/types.ts'

const MIB = 1024 * 1024

/** Options every daemon takes; each daemon adds its own and its schemes'. Public roles serve as relays by default. */
export function daemonSpec(defaultDataDir: string, defaults: { relayServer?: boolean } = {}) {
  return {
    'data-dir': {
      type: 'string',
      default: defaultDataDir,
      help: 'directory for the identity key, LevelDB and api.token'
    },
    listen: { type: 'list', default: ['/ip4/127.0.0.1/tcp/0'], help: 'libp2p listen multiaddrs (comma separated)' },
    announce: { type: 'list', default: [], help: 'multiaddrs to announce instead of the listen addresses' },
    relay: {
      type: 'list',
      default: [],
      help: 'behind NAT: relays to reserve a slot on and be reached through (multiaddrs ending in /p2p/<id>, or auto)'
    },
    'relay-server': {
      type: 'boolean',
      default: defaults.relayServer ?? false,
      help: 'serve as a circuit relay for nodes behind NAT (needs a public address)'
    },
    allow: {
      type: 'list',
      default: [],
      help: 'address prefixes exempt from the per-IP inbound limit, e.g. /ip4/203.0.113.7/ipcidr/32 (a NAT of many)'
    },
    'api-port': { type: 'number', default: 0, help: 'control API port (0 = any; see api.json)' },
    'api-host': {
      type: 'string',
      default: '127.0.0.1',
      help: 'address the control API listens on (bearer token in api.token; keep it off public interfaces)'
    },
    crypto: { type: 'string', default: 'node', help: 'Ed25519 backend: node (OpenSSL) or noble (pure JS)' },
    dht: { type: 'boolean', default: true, help: 'run kad-dht in server mode' },
    'rpc-budget-mib': {
      type: 'number',
      help: `MiB of requests in flight the RPC servers hold for all peers together, past it BUSY (default ${
        DEFAULT_TOTAL_BUDGET / MIB
      })`
    },
    'rpc-peer-budget-mib': {
      type: 'number',
      help: `MiB of requests in flight the RPC servers hold for one remote peer, past it BUSY (default ${
        DEFAULT_PEER_BUDGET / MIB
      })`
    }
  } as const satisfies Spec
}

/**
 * Test-only surfaces, off unless asked for by a flag on the command line (never
 * env or a config file); a daemon that has them spreads these into its spec.
 */
export const TEST_ONLY_OPTIONS = {
  'allow-cheats': {
    type: 'boolean',
    default: false,
    flagOnly: true,
    help: 'expose the /v1/<scheme>/cheat/* fault-injection routes (test swarms only)'
  },
  diag: {
    type: 'boolean',
    default: false,
    flagOnly: true,
    help: 'serve the raw stream probe: POST /v1/diag/stream and its libp2p protocol (benchmarks only)'
  }
} as const satisfies Spec

type BudgetFlag = 'rpc-budget-mib' | 'rpc-peer-budget-mib'
type DefaultedFlag = BudgetFlag | 'api-host' | 'relay' | 'relay-server' | 'allow'
type DaemonValues = ConfigOf<ReturnType<typeof daemonSpec>>
/** The values of `daemonSpec` (budgets, API host and NAT options may be left out: the defaults hold). */
export type DaemonConfig = Omit<DaemonValues, DefaultedFlag> & Partial<Pick<DaemonValues, DefaultedFlag>>

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never

/** The flags of the schemes a daemon hosts, to add to its own (typed as all of them together). */
export function schemeOptions<const M extends ReadonlyArray<{ readonly name: string; readonly options: Spec }>>(
  schemes: M
): UnionToIntersection<M[number]['options']> {
  const out: Record<string, unknown> = {}
  for (const s of schemes) {
    for (const [flag, spec] of Object.entries(s.options)) {
      // two schemes of one daemon cannot both own a flag: one of them would read the other's value
      if (Object.hasOwn(out, flag)) throw new TypeError(`--${flag} is declared by ${s.name} and by another scheme`)
      out[flag] = spec
    }
  }
  return out as UnionToIntersection<M[number]['options']>
}

/** Everything a daemon can give the schemes it hosts; each scheme's components name the part it uses. */
export interface DaemonComponents extends BaseComponents {
  /** the identity key: services that decrypt to the peer id (TTP, judge) derive their X25519 key from it */
  privateKey: PrivateKey
  dataDir: string
}

export interface DaemonDefinition<Cfg extends DaemonConfig, C extends DaemonComponents> {
  /** 'node', 'broker', 'ttp' or 'judge': the role in status, logs and api.json */
  name: string
  /** every LevelDB bucket it keeps: its schemes open nothing else */
  buckets: BucketRegistry
  /** the schemes it hosts, in start order (they stop in the reverse) */
  schemes: ReadonlyArray<SchemeModule<Cfg, C>>
  /** its components beyond the base (e.g. the broker a node's schemes talk to) */
  components(base: DaemonComponents, cfg: Cfg): C | Promise<C>
  /** peers to join the network through */
  bootstrap?: (cfg: Cfg) => string[]
  /** its own routes (absolute paths, e.g. `GET /v1/audit`), given its running schemes */
  routes?: (d: DaemonContext<C>) => Routes
  /** what its `GET /v1/status` shows besides the role, the addresses and each scheme's status */
  status?: (d: DaemonContext<C>) => Record<string, unknown>
  /** expose the fault-injection routes of its schemes (test swarms only: `--allow-cheats`) */
  cheats?: (cfg: Cfg) => boolean
  /** serve the raw stream probe (`POST /v1/diag/stream`), the baseline of transfer benchmarks (`--diag`) */
  diag?: (cfg: Cfg) => boolean
  /** its payment routes, run through the payments journal, and each scheme's settler of them */
  payments?: (d: DaemonContext<C>) => DaemonPayments
}

export interface DaemonContext<C extends DaemonComponents = DaemonComponents> {
  name: string
  log: Logger
  metrics: Metrics
  components: C
  /** the running schemes, by name */
  schemes: ReadonlyMap<string, SchemeService>
}

export interface RunningDaemon<C extends DaemonComponents = DaemonComponents> {
  ctx: DaemonContext<C>
  apiPort: number
  stop: () => Promise<void>
}

export async function startDaemon<Cfg extends DaemonConfig, C extends DaemonComponents>(
  def: DaemonDefinition<Cfg, C>,
  cfg: Cfg
): Promise<RunningDaemon<C>> {
  if (cfg.crypto !== 'node' && cfg.crypto !== 'noble')
    fail(ErrorCode.BAD_REQUEST, `--crypto must be node or noble, got ${cfg.crypto}`)
  const apiHost = cfg['api-host'] ?? '127.0.0.1'
  if (isIP(apiHost) === 0) fail(ErrorCode.BAD_REQUEST, `--api-host must be an IP address, got ${apiHost}`)
  for (const r of cfg.relay ?? []) if (r !== ANY_RELAY) peerIdOfAddr(r, '--relay')
  // announced addresses replace every other, the relayed ones too: a node with both would give out no way in
  if ((cfg.relay ?? []).length > 0 && cfg.announce.length > 0)
    fail(ErrorCode.BAD_REQUEST, '--relay and --announce do not go together (a node others can dial needs no relay)')
  for (const a of cfg.allow ?? []) checkMultiaddr(a, '--allow')
  const budgetMib = (flag: BudgetFlag, dflt: number): number => {
    const v = cfg[flag] ?? dflt / MIB
    if (!(Number.isFinite(v) && v > 0)) fail(ErrorCode.BAD_REQUEST, `--${flag} must be a number over 0`)
    return Math.round(v * MIB)
  }
  const budget = {
    total: budgetMib('rpc-budget-mib', DEFAULT_TOTAL_BUDGET),
    perPeer: budgetMib('rpc-peer-budget-mib', DEFAULT_PEER_BUDGET)
  }
  // every scheme checks its options before anything is opened or listened on
  const factories = def.schemes.map(s => ({ name: s.name, factory: s.create(cfg) }))
  const dataDir = resolve(cfg['data-dir'])
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const log = createLogger(def.name)
  const metrics = new Metrics()
  const backend = cfg.crypto === 'noble' ? nobleEd25519() : nodeEd25519()
  const privateKey = await loadOrCreateIdentity(dataDir)
  const store = new Store(join(dataDir, 'db'), { buckets: def.buckets })
  try {
    await store.open()
  } catch (err: any) {
    const why = err?.cause?.message ?? err?.message
    throw new Error(`cannot open LevelDB in ${dataDir}/db (is another daemon using this data dir?): ${why}`)
  }
  const started: SchemeService[] = []
  const apiLife = new Lifecycle(log.child('api'))
  let libp2p: Awaited<ReturnType<typeof createP2payNode>> | undefined
  let payments: MountedPayments | undefined
  /** stops what has started, in reverse, and closes the store last */
  const shutdown = async (): Promise<void> => {
    apiLife.abort() // new API requests get 503 ABORTED from here on
    payments?.life.abort() // no new settles; those in flight end as their schemes abort
    for (const s of [...started].reverse()) {
      await s.stop().catch(err => log.error('scheme stop failed', { scheme: s.name, err: asError(err) }))
    }
    await payments?.life.stop()
    await apiLife.stop() // API requests in flight (their scheme calls are aborted now)
    await libp2p?.stop()
    // work that ignored its signal past the stop grace could still write: LevelDB is then left as a crash leaves
    // it (every acknowledged change is on disk already), rather than closed under it
    const left = [...started.flatMap(s => s.life.running()), ...apiLife.running(), ...(payments?.life.running() ?? [])]
    if (left.length > 0) {
      log.error('work still running at the stop: LevelDB left open', { tasks: [...new Set(left)] })
      return
    }
    await store.close() // last: everything above may still write
  }
  try {
    libp2p = await createP2payNode({
      privateKey,
      listen: cfg.listen,
      announce: cfg.announce,
      bootstrap: def.bootstrap?.(cfg),
      dht: cfg.dht,
      relays: cfg.relay ?? [],
      relayServer: cfg['relay-server'] ?? false,
      ...(cfg.allow != null && cfg.allow.length > 0 ? { allow: [LOOPBACK, ...cfg.allow] } : {})
    })
    if (announcesOnlyLoopback(cfg.listen, libp2p.getMultiaddrs()) && (cfg.relay ?? []).length === 0)
      log.warn('listening beyond loopback but announcing loopback only: give --announce <public multiaddr>', {
        listen: cfg.listen
      })
    // before any scheme serves a protocol on the node: they all draw on this budget
    const requests = setRequestBudget(libp2p, budget)
    metrics.gauge('rpc_request_bytes', () => requests.held(), 'Bytes of inbound RPC requests held by their handlers')
    metrics.gauge('rpc_busy_refusals', () => requests.refused, 'Inbound RPC requests refused over the byte budget')
    const verified = new VerifiedCache()
    const base: DaemonComponents = {
      network: libp2p,
      store,
      signer: signerFor(privateKey, backend, metrics, verified),
      verifier: new Verifier(backend, metrics, verified),
      metrics,
      logger: log,
      privateKey,
      dataDir
    }
    const components = await def.components(base, cfg)
    metrics.gauge('store_batches', () => store.stats.batches, 'Synced LevelDB batch writes')
    metrics.gauge('peers_connected', () => libp2p!.getConnections().length, 'Open libp2p connections')
    metrics.gauge('process_resident_memory_bytes', () => process.memoryUsage.rss(), 'Resident memory of the daemon')
    const schemes = new Map<string, SchemeService>()
    for (const { name, factory } of factories) {
      const service = factory({ ...components, logger: log.child(name) })
      if (service.name !== name) throw new TypeError(`scheme module ${name} made a service named ${service.name}`)
      metrics.declareKinds(service.kinds)
      await service.start()
      started.push(service)
      schemes.set(name, service)
    }
    const diag = def.diag?.(cfg) === true
    const cheats = def.cheats?.(cfg) === true
    // loud on purpose: neither belongs on a daemon that handles real money
    if (cheats) log.warn('cheat routes are on (--allow-cheats): fault injection for test swarms only')
    if (diag) log.warn('the stream probe is on (--diag): any peer may stream data to this daemon')
    if (diag) await serveDiag(libp2p)
    const ctx: DaemonContext<C> = { name: def.name, log, metrics, components, schemes }
    const routes: Routes = {
      ...Object.assign({}, ...[...schemes.values()].map(s => mountRoutes(s.name, s.routes()))),
      ...(cheats
        ? Object.assign(
            {},
            ...[...schemes.values()].map(s => mountRoutes(s.name, s.cheats?.() ?? {}, `/v1/${s.name}/cheat`))
          )
        : {}),
      ...commonRoutes(ctx, def, libp2p, diag),
      ...def.routes?.(ctx)
    }
    if (def.payments != null) {
      payments = await mountPayments(def.payments(ctx), routes, { ...base, network: libp2p, log })
      Object.assign(routes, payments.routes)
    }
    // the table itself, so a client (or the fuzzer) reaches every route without a list of its own
    routes['GET /v1/routes'] = () => ({ routes: ['GET /metrics', ...Object.keys(routes)].sort() })
    const token = loadOrCreateToken(dataDir)
    const api = await startControlApi({
      host: apiHost,
      port: cfg['api-port'],
      token,
      routes,
      metrics,
      log,
      life: apiLife,
      staticDir: DASHBOARD_DIR
    })
    const info = {
      name: def.name,
      peerId: libp2p.peerId.toString(),
      addrs: libp2p.getMultiaddrs().map(String),
      apiHost,
      apiPort: api.port,
      pid: process.pid
    }
    writeFileSync(join(dataDir, `${API_FILE}.tmp`), JSON.stringify(info, null, 2))
    renameSync(join(dataDir, `${API_FILE}.tmp`), join(dataDir, API_FILE))
    log.info('ready', { ...info, schemes: [...schemes.keys()], cheats, diag })

    let stopping: Promise<void> | undefined
    const stop = async (): Promise<void> => {
      stopping ??= (async () => {
        log.info('stopping')
        await shutdown()
        await api.close()
        rmSync(join(dataDir, API_FILE), { force: true })
        log.info('stopped')
      })()
      return await stopping
    }
    return { ctx, apiPort: api.port, stop }
  } catch (err) {
    await shutdown().catch(e => log.error('cleanup after a failed start failed', { err: asError(e) }))
    throw err
  }
}

/** The routes every daemon has: its status, dialling a peer, and (when it serves the probe) the stream probe. */
function commonRoutes<C extends DaemonComponents>(
  d: DaemonContext<C>,
  def: DaemonDefinition<any, C>,
  libp2p: DaemonComponents['network'],
  diag: boolean
): Routes {
  const routes: Routes = {
    'GET /v1/status': () => ({
      role: d.name,
      peerId: libp2p.peerId.toString(),
      addrs: libp2p.getMultiaddrs().map(String),
      connections: libp2p.getConnections().length,
      ...def.status?.(d),
      schemes: Object.fromEntries([...d.schemes].map(([name, s]) => [name, s.status?.() ?? {}]))
    }),
    /** who this daemon is connected to now (the dashboard's peer list) */
    'GET /v1/peers': () => ({
      peers: libp2p.getConnections().map(c => ({
        peer: c.remotePeer.toString(),
        addr: c.remoteAddr.toString(),
        direction: c.direction,
        opened: c.timeline.open,
        streams: c.streams.length
      }))
    }),
    'GET /v1/memory': () => memoryOf(),
    'POST /v1/connect': async b => {
      const addr = checkMultiaddr(b.addr, 'addr')
      try {
        const conn = await libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) })
        return { peer: conn.remotePeer.toString() }
      } catch (err) {
        throw new P2payError(ErrorCode.UNREACHABLE, `cannot dial ${String(b.addr)}: ${asError(err).message}`)
      }
    }
  }
  if (diag) {
    routes['POST /v1/diag/stream'] = async b => {
      const p = party(b.to, 'to')
      return await streamThroughput(libp2p, dialTarget(p), b.bytes, b.frame)
    }
  }
  return routes
}

/** Where the daemon's memory is, bytes: V8's heap by space (code, old, new), and what lives outside it. */
function memoryOf(): Record<string, number> {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage()
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map(s => [s.space_name.replace(/_space$/, ''), s.space_size])
  )
  return { rss, heapTotal, heapUsed, external, arrayBuffers, ...spaces }
}

/** Installs SIGINT/SIGTERM handlers that stop the daemon and exit. */
export function exitOnSignals(d: RunningDaemon<any>): void {
  const onSignal = (sig: string): void => {
    d.ctx.log.info('signal', { sig })
    d.stop().then(
      () => process.exit(0),
      err => {
        d.ctx.log.error('shutdown failed', { err })
        process.exit(1)
      }
    )
  }
  process.once('SIGINT', () => onSignal('SIGINT'))
  process.once('SIGTERM', () => onSignal('SIGTERM'))
}
