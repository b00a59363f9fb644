// Karma swarms for the integration tests.
//
// In-process: many real daemons (startDaemon: libp2p with TCP + Noise + Yamux
// and kad-dht, LevelDB, control API) in this one process, each hosting the
// real Karma service; nothing is mocked. As processes: `p2pay node` daemons
// started through the CLI (scripts/lib/swarm.ts), driven through their API.
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { buckets, startDaemon, randomId, IDENTITY_FILE, type RunningDaemon } from '@p2pay/core'
import { KARMA_TABLES, KarmaService, bankSet, karma, type KarmaConfig } from '@p2pay/karma'
import { waitFor, type Daemon } from './swarm.ts'

export interface KarmaNode {
  daemon: RunningDaemon
  svc: KarmaService
  id: string
  addr: string
  dataDir: string
}

export class KarmaSwarm {
  readonly dir: string
  readonly nodes: KarmaNode[] = []
  readonly cfg: Partial<KarmaConfig>
  constructor(name: string, cfg: Partial<KarmaConfig>) {
    this.dir = mkdtempSync(join(tmpdir(), `p2pay-${name}-`))
    this.cfg = cfg
  }

  /** Starts `n` nodes; all but the first bootstrap from the first two. */
  async start(n: number): Promise<KarmaNode[]> {
    const first = this.nodes.length === 0 ? [await this.startOne()] : []
    const boot = this.nodes.slice(0, 2).map(x => x.addr)
    const rest = await Promise.all(Array.from({ length: n - first.length }, async () => await this.startOne(boot)))
    return [...first, ...rest]
  }

  async startOne(bootstrap: string[] = []): Promise<KarmaNode> {
    const dataDir = join(this.dir, `n${this.nodes.length}-${randomId(4)}`)
    const cfg = this.cfg
    const daemon = await startDaemon(
      {
        name: 'node',
        buckets: buckets(KARMA_TABLES),
        schemes: [{ name: 'karma', options: {}, create: () => karma(cfg) }],
        components: base => base,
        bootstrap: () => bootstrap,
        cheats: () => true
      },
      { 'data-dir': dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], 'api-port': 0, crypto: 'node', dht: true }
    )
    const libp2p = daemon.ctx.components.network
    const node = {
      daemon,
      svc: daemon.ctx.schemes.get('karma') as KarmaService,
      id: libp2p.peerId.toString(),
      addr: `${libp2p.getMultiaddrs()[0].toString()}`,
      dataDir
    }
    this.nodes.push(node)
    return node
  }

  get ids(): string[] {
    return this.nodes.map(n => n.id)
  }
  node(id: string): KarmaNode {
    return this.nodes.find(n => n.id === id)!
  }

  /**
   * Waits until every node computes bank(account) = the set over all nodes, as
   * it would for a transfer (its cached DHT answer plus the Karma peers it is
   * connected to; a fresh query from every node, every round, would load the
   * machine more than the test does).
   */
  async settle(accounts: string[], k: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'bank-sets to agree on every node',
      async () => {
        for (const a of accounts) {
          const want = bankSet(a, this.ids, k)
          const got = await Promise.all(this.nodes.map(async n => await n.svc.view.bank(a)))
          const off = got.flatMap((g, i) => (JSON.stringify(g) === JSON.stringify(want) ? [] : [i]))
          if (off.length > 0) {
            // only the nodes that disagree ask the DHT again (a fresh query from all 16 each round loads the machine)
            await Promise.all(off.map(async i => await this.nodes[i].svc.view.bank(a, true).catch(() => undefined)))
            await new Promise(resolve => setTimeout(resolve, 1000))
            throw new Error(`nodes ${off.join(', ')} compute another bank(${a})`)
          }
        }
        return true
      },
      timeoutMs
    )
  }

  async stop(node: KarmaNode): Promise<void> {
    await node.daemon.stop()
    this.nodes.splice(this.nodes.indexOf(node), 1)
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.nodes.map(async n => await n.daemon.stop()))
    this.nodes.length = 0
    if (process.env.P2PAY_KEEP_TEST_DIRS == null) rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A fresh identity key whose peer id satisfies `want`, written where a daemon with data dir `dataDir` will load it. */
export async function identityWhere(
  dataDir: string,
  want: (peerId: string) => boolean,
  maxTries = 5000
): Promise<string> {
  for (let i = 0; i < maxTries; i++) {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    if (!want(id)) continue
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(join(dataDir, IDENTITY_FILE), privateKeyToProtobuf(key), { mode: 0o600 })
    return id
  }
  throw new Error('no identity found')
}

/** Majority balances of `accounts` as `reader` reads them through its control API. */
export async function balancesVia(reader: Daemon, accounts: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const a of accounts) out.set(a, (await reader.api('GET', `/v1/karma/balance?peer=${a}`)).balance)
  return out
}

export const sum = (xs: Iterable<number>): number => {
  let n = 0
  for (const x of xs) n += x
  return n
}

export { rng } from '../../scripts/lib/api.ts'
