// Traffic for swarms under faults (the stop-under-load test, the chaos run):
// PPay payments, file sales and Karma transfers, each a loop of operations one
// after another that records what the daemons acknowledged (an answer with
// status 200) and tallies the rest. Every loop ends when asked or after its
// bound in count and time.
import { existsSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { randomId } from '@p2pay/core'
import { call, sleep, Tally } from './api.ts'
import { bankSet } from '@p2pay/karma'
import { waitFor, type Daemon } from './swarm.ts'

/** A loop of operations run until `stop()` or until `maxOps` / `maxMs` are reached. */
export class Loop {
  readonly tally = new Tally()
  private stopping = false
  private done?: Promise<void>
  readonly name: string

  constructor(name: string) {
    this.name = name
  }

  start(op: (i: number) => Promise<void>, opts: { maxOps: number; maxMs: number; pauseMs: number }): void {
    const until = Date.now() + opts.maxMs
    this.done = (async () => {
      for (let i = 0; i < opts.maxOps && !this.stopping && Date.now() < until; i++) {
        try {
          await op(i)
          this.tally.ok++
        } catch (err) {
          this.tally.fail(err)
          // a daemon being stopped or restarted: give it a moment rather than spin on refusals
          await sleep(100)
        }
        await sleep(opts.pauseMs)
      }
    })()
  }

  async stop(): Promise<void> {
    this.stopping = true
    await this.done
  }
}

/** A PPay payment the payer acknowledged: the coins the payee must end up holding. */
export interface AckedPayment {
  to: Daemon
  sns: string[]
}

/** `payer` pays `payee` one unit at a time. */
export function payments(payer: Daemon, payee: Daemon, acked: AckedPayment[]): Loop {
  const loop = new Loop('ppay payments')
  loop.start(
    async () => {
      const r = await call<{ coins: Array<{ sn: string }> }>(payer, 'POST', '/v1/ppay/pay', {
        to: payee.peerId,
        amount: 1
      })
      acked.push({ to: payee, sns: r.coins.map(c => c.sn) })
    },
    { maxOps: 3000, maxMs: 600_000, pauseMs: 40 }
  )
  return loop
}

/** A purchase that ended 'done': the file must be in place, byte for byte. */
export interface AckedPurchase {
  serial: string
  out: string
}

/** `buyer` buys the shared file `fileId` from `provider` again and again. */
export function purchases(buyer: Daemon, provider: Daemon, fileId: string, dir: string, acked: AckedPurchase[]): Loop {
  const loop = new Loop('file purchases')
  loop.start(
    async () => {
      const out = join(dir, `bought-${randomId(4)}.bin`)
      const r = await call<{ serial: string; status: string }>(
        buyer,
        'POST',
        '/v1/fairex/buy',
        { provider: provider.peerId, fileId, out },
        60_000
      )
      if (r.status === 'done') acked.push({ serial: r.serial, out })
    },
    { maxOps: 500, maxMs: 600_000, pauseMs: 100 }
  )
  return loop
}

/** A Karma transfer both bank-sets confirmed to the payer. */
export interface AckedTransfer {
  requestHash: string
  from: string
  to: string
  amount: number
}

/** Transfers of one karma between random pairs of `nodes`, one at a time. */
export function transfers(nodes: Daemon[], acked: AckedTransfer[], rand: () => number): Loop {
  const loop = new Loop('karma transfers')
  loop.start(
    async () => {
      const a = Math.floor(rand() * nodes.length)
      const b = (a + 1 + Math.floor(rand() * (nodes.length - 1))) % nodes.length
      const r = await call<AckedTransfer>(
        nodes[a],
        'POST',
        '/v1/karma/transfer',
        { to: nodes[b].peerId, amount: 1 },
        30_000
      )
      acked.push({ requestHash: r.requestHash, from: r.from, to: r.to, amount: r.amount })
    },
    { maxOps: 2000, maxMs: 600_000, pauseMs: 50 }
  )
  return loop
}

export const sha256 = (path: string): string =>
  existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : ''

/** Lines of a daemon's log (stderr) that contain every one of `parts`. */
export function logLines(d: Daemon, ...parts: string[]): string[] {
  try {
    return readFileSync(d.dataDir + '.log', 'utf8')
      .split('\n')
      .filter(l => parts.every(p => l.includes(p)))
  } catch {
    return []
  }
}

/** What every node holds for every account, and takes for its bank: printed when a Karma check fails. */
export async function karmaBooks(nodes: Daemon[]): Promise<string> {
  const lines: string[] = []
  for (const a of nodes) {
    const rows = await Promise.all(
      nodes.map(async n => {
        const row = await call(n, 'GET', `/v1/karma/books?account=${a.peerId}`).then(
          r => r.row,
          () => undefined
        )
        return row == null ? '-' : `${row.balance}/${row.nonce}${row.synced === false ? '/unsynced' : ''}`
      })
    )
    const bank = await call(nodes[0], 'GET', `/v1/karma/bankset?peer=${a.peerId}`).then(
      r => (r.bank as string[]).map(m => nodes.findIndex(n => n.peerId === m)).join(','),
      () => '?'
    )
    const sent = await call(a, 'GET', '/v1/karma/sent').then(
      r => (r.sent as any[]).filter(s => s.status !== 'done').map(s => `pending nonce ${s.nonce}`),
      () => []
    )
    lines.push(`node${nodes.indexOf(a)}: bank [${bank}] rows ${rows.join(' ')} ${sent.join(', ')}`)
  }
  return lines.join('\n')
}

/** Every node computes bank(account) = the k closest of all nodes, each from a fresh DHT query. */
export async function agreeOnBanks(nodes: Daemon[], k: number, timeoutMs = 120_000): Promise<void> {
  const ids = nodes.map(n => n.peerId)
  await waitFor(
    'every node to agree on every bank-set',
    async () => {
      for (const a of ids) {
        const want = JSON.stringify(bankSet(a, ids, k))
        for (const n of nodes) {
          const got = JSON.stringify((await call(n, 'GET', `/v1/karma/bankset?peer=${a}&fresh=1`)).bank)
          if (got !== want) return false
        }
      }
      return true
    },
    timeoutMs
  )
}

/** Waits until no member has Karma notices left to send (each node's housekeeping runs meanwhile). */
export async function quiet(nodes: Daemon[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'Karma outboxes to drain',
    async () => {
      const left = await Promise.all(nodes.map(async n => (await call(n, 'POST', '/v1/karma/sync')).outbox as number))
      return left.every(x => x === 0)
    },
    timeoutMs
  )
}
