// The memory benchmark's WhoPay phase: a node's resident memory before it uses WhoPay, while it pays (its BBS04
// worker threads running, each with its own mcl-wasm), and once those threads have ended after their idle time.
// A judge, a broker and two nodes, real processes; the payer joins, buys coins and pays them to the other node.
import { sleep } from '../lib/api.ts'
import { startWhopay } from '../lib/whopay-swarm.ts'
import { waitFor } from '../lib/swarm.ts'
import { DEFAULT_IDLE_MS } from '../../packages/whopay/src/core/group-pool.ts'
import { RssSampler, rssOf, type Rss } from './memory-rss.ts'

export interface WhopayMemory {
  /** the payer before it used WhoPay */
  before: Rss
  /** its highest VmRSS while it paid, MiB, and its threads then (main, libuv, V8 and BBS04 workers) */
  peak: number
  threadsPaying: number
  /** after the workers' idle time and a margin */
  after: Rss
  threadsAfter: number
  payments: number
  idleMs: number
}

const threadsOf = (pid: number): number => rssOf(pid)?.threads ?? 0

export async function whopayPhase(payments: number): Promise<WhopayMemory> {
  const s = await startWhopay('bench-memory-whopay', { nodes: 2, topup: 10 * payments, join: false })
  try {
    const [payer, payee] = s.nodes
    await sleep(3000)
    const before = rssOf(payer.pid)
    if (before == null) throw new Error('the WhoPay payer is gone')
    const sampler = new RssSampler([payer.pid]).start()
    let threadsPaying = 0
    const watch = setInterval(() => (threadsPaying = Math.max(threadsPaying, threadsOf(payer.pid))), 250)
    let paid = 0
    try {
      for (const d of [payer, payee])
        await waitFor(`${d.dataDir} joined`, async () => await d.api('POST', '/v1/whopay/join'), 60_000)
      await payer.api('POST', '/v1/whopay/buy', { value: 1, count: payments })
      // bounded: `payments` coins in calls of 10
      for (let left = payments; left > 0; left -= 10) {
        const r = await payer.api('POST', '/v1/whopay/pay-many', {
          to: payee.addr,
          value: 1,
          count: Math.min(10, left),
          concurrency: 4
        })
        paid += r.payments ?? 0
      }
    } finally {
      clearInterval(watch)
      sampler.stop()
    }
    const peak = sampler.figures().peak[0]
    await sleep(DEFAULT_IDLE_MS + 5000)
    const after = rssOf(payer.pid)
    if (after == null) throw new Error('the WhoPay payer is gone')
    return {
      before,
      peak,
      threadsPaying,
      after,
      threadsAfter: threadsOf(payer.pid),
      payments: paid,
      idleMs: DEFAULT_IDLE_MS
    }
  } finally {
    await s.swarm.stopAll()
  }
}
