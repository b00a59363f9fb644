// WhoPay swarms: a judge (the group's opener), a broker (issuer, registry and
// ledger) and nodes, each a real process started through the CLI. The judge's
// port is chosen first, so the broker can be told the judge's address and the
// judge the broker's. Shared by the integration tests and the benchmark.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CLI, Swarm, waitFor, type Daemon } from './swarm.ts'

const run = promisify(execFile)

export interface WhopaySwarm {
  swarm: Swarm
  broker: Daemon
  judge: Daemon
  nodes: Daemon[]
}

export interface WhopayOptions {
  nodes: number
  /** the DHT check of each coin's state (the paper's real-time extension); default on */
  realtime?: boolean
  nodeArgs?: string[]
  brokerArgs?: string[]
  /** money topped up into every node's broker account */
  topup?: number
  /** whether every node joins the group before this returns (default true) */
  join?: boolean
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/**
 * Starts judge, broker and `o.nodes` nodes, tops up every node's account and has it join the group; a start that
 * fails stops whatever it had started.
 */
export async function startWhopay(name: string, o: WhopayOptions): Promise<WhopaySwarm> {
  const swarm = new Swarm(name)
  try {
    const realtime = ['--whopay-realtime', String(o.realtime ?? true)]
    const { stdout } = await run(
      process.execPath,
      [CLI, 'identity', '--data-dir', join(swarm.dir, 'judge'), '--json'],
      {
        timeout: 60_000
      }
    )
    const judgeId: string = JSON.parse(stdout).peerId
    const judgeListen = `/ip4/127.0.0.1/tcp/${await freePort()}`
    const broker = await swarm.startBroker([
      '--whopay-judge',
      `${judgeListen}/p2p/${judgeId}`,
      ...realtime,
      ...(o.brokerArgs ?? [])
    ])
    const judge = await swarm.add('judge', 'judge', ['--broker', broker.addr, '--listen', judgeListen])
    assert.equal(judge.peerId, judgeId)
    const nodes = await swarm.startNodes(o.nodes, ['--whopay-judge', judge.addr, ...realtime, ...(o.nodeArgs ?? [])])
    for (const d of nodes)
      if ((o.topup ?? 0) > 0) await broker.api('POST', '/v1/topup', { account: d.peerId, amount: o.topup })
    if (o.join ?? true) await joinAll(nodes)
    return { swarm, broker, judge, nodes }
  } catch (err) {
    await swarm.stopAll()
    throw err
  }
}

/** Joins every node (the broker may still be fetching the judge's opener part: asked again for a while). */
export async function joinAll(nodes: Daemon[]): Promise<void> {
  for (const d of nodes)
    await waitFor(`${d.dataDir} joined`, async () => await d.api('POST', '/v1/whopay/join'), 30_000)
}
