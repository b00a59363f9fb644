// What every p2pay daemon shares: data dir, identity, LevelDB store, libp2p
// node, control API, api.json for the CLI, and an orderly shutdown that closes
// LevelDB last.
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createP2payNode } from './libp2p-node.ts'
import { loadOrCreateIdentity, signerFor } from './identity.ts'
import { Store } from './store.ts'
import { Metrics } from './metrics.ts'
import { createLogger, type Logger } from './log.ts'
import { startControlApi, loadOrCreateToken, API_FILE, type Routes } from './control-api.ts'
import { nodeEd25519, nobleEd25519, type Ed25519Backend } from './ed25519.ts'
import { Verifier, VerifiedCache, type Signer } from './signed.ts'
import type { Spec } from './config.ts'
import { ErrorCode, P2payError } from './errors.ts'

/** Options every daemon takes; each daemon adds its own. */
export function daemonSpec(defaultDataDir: string): Spec {
  return {
    'data-dir': {
      type: 'string',
      default: defaultDataDir,
      help: 'directory for the identity key, LevelDB and api.token'
    },
    listen: { type: 'list', default: ['/ip4/127.0.0.1/tcp/0'], help: 'libp2p listen multiaddrs (comma separated)' },
    announce: { type: 'list', default: [], help: 'multiaddrs to announce instead of the listen addresses' },
    'api-port': { type: 'number', default: 0, help: 'control API port on 127.0.0.1 (0 = any; see api.json)' },
    crypto: { type: 'string', default: 'node', help: 'Ed25519 backend: node (OpenSSL) or noble (pure JS)' },
    dht: { type: 'boolean', default: true, help: 'run kad-dht in server mode' }
  }
}

/** The values of `daemonSpec`. */
export interface DaemonConfig {
  'data-dir': string
  listen: string[]
  announce: string[]
  'api-port': number
  crypto: string
  dht: boolean
}

export interface DaemonOptions {
  dataDir: string
  listen: string[]
  announce?: string[]
  bootstrap?: string[]
  apiPort: number
  dht?: boolean
  /** 'node' (OpenSSL, default) or 'noble' (pure JS, for baselines). */
  crypto?: string
}

/** Daemon options from the shared config values. */
export function daemonOptions(cfg: DaemonConfig, extra: Partial<DaemonOptions> = {}): DaemonOptions {
  return {
    dataDir: cfg['data-dir'],
    listen: cfg.listen,
    announce: cfg.announce,
    apiPort: cfg['api-port'],
    dht: cfg.dht,
    crypto: cfg.crypto,
    ...extra
  }
}

export interface DaemonContext {
  name: string
  dataDir: string
  log: Logger
  metrics: Metrics
  store: Store
  libp2p: Libp2p
  /** the identity key: services that decrypt to the peer id (TTP, judge) derive their X25519 key from it */
  privateKey: PrivateKey
  signer: Signer
  verifier: Verifier
  backend: Ed25519Backend
}

export interface Service {
  routes: Routes
  close?: () => Promise<void>
}

export interface RunningDaemon {
  ctx: DaemonContext
  apiPort: number
  stop: () => Promise<void>
}

export async function startDaemon(
  name: string,
  opts: DaemonOptions,
  build: (ctx: DaemonContext) => Promise<Service>
): Promise<RunningDaemon> {
  if (opts.crypto != null && opts.crypto !== 'node' && opts.crypto !== 'noble')
    throw new P2payError(ErrorCode.BAD_REQUEST, `--crypto must be node or noble, got ${opts.crypto}`)
  const dataDir = resolve(opts.dataDir)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const log = createLogger(name)
  const metrics = new Metrics()
  const backend = opts.crypto === 'noble' ? nobleEd25519() : nodeEd25519()
  const privateKey = await loadOrCreateIdentity(dataDir)
  const store = new Store(join(dataDir, 'db'))
  try {
    await store.open()
  } catch (err: any) {
    throw new Error(
      `cannot open LevelDB in ${dataDir}/db (is another daemon using this data dir?): ${err?.cause?.message ?? err?.message}`
    )
  }
  const libp2p = await createP2payNode({
    privateKey,
    listen: opts.listen,
    announce: opts.announce,
    bootstrap: opts.bootstrap,
    dht: opts.dht
  })
  const verified = new VerifiedCache()
  const ctx: DaemonContext = {
    name,
    dataDir,
    log,
    metrics,
    store,
    libp2p,
    backend,
    privateKey,
    signer: signerFor(privateKey, backend, metrics, verified),
    verifier: new Verifier(backend, metrics, verified)
  }
  metrics.gauge('store_batches', () => store.stats.batches, 'Synced LevelDB batch writes')
  metrics.gauge('peers_connected', () => libp2p.getConnections().length, 'Open libp2p connections')
  metrics.gauge('process_resident_memory_bytes', () => process.memoryUsage.rss(), 'Resident memory of the daemon')
  const service = await build(ctx)
  const token = loadOrCreateToken(dataDir)
  const api = await startControlApi({ port: opts.apiPort, token, routes: service.routes, metrics, log })
  const info = {
    name,
    peerId: libp2p.peerId.toString(),
    addrs: libp2p.getMultiaddrs().map(String),
    apiPort: api.port,
    pid: process.pid
  }
  writeFileSync(join(dataDir, `${API_FILE}.tmp`), JSON.stringify(info, null, 2))
  renameSync(join(dataDir, `${API_FILE}.tmp`), join(dataDir, API_FILE))
  log.info('ready', info)

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping')
      await api.close()
      await service.close?.()
      await libp2p.stop()
      await store.close() // last: everything above may still write
      rmSync(join(dataDir, API_FILE), { force: true })
      log.info('stopped')
    })()
    return await stopping
  }
  return { ctx, apiPort: api.port, stop }
}

/** Installs SIGINT/SIGTERM handlers that stop the daemon and exit. */
export function exitOnSignals(d: RunningDaemon): void {
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
