// What must hold after a swarm went through faults (the chaos run): every
// operation a daemon acknowledged is intact, no value was created or lost,
// no honest party was convicted, and no daemon is stuck. Each check throws
// with a message that names what broke; `Findings` runs them all and keeps
// every violation, so one report shows everything that went wrong.
import assert from 'node:assert/strict'
import { call } from './api.ts'
import { agreeOnBanks, karmaBooks, logLines, quiet, sha256 } from './load.ts'
import type { AckedPayment, AckedPurchase, AckedTransfer } from './load.ts'
import { waitFor, type Daemon } from './swarm.ts'

/** Runs named checks one after another; a check that throws becomes a violation and the next one runs. */
export class Findings {
  readonly violations: string[] = []
  readonly passed: string[] = []
  private readonly log: (line: string) => void
  constructor(log: (line: string) => void = () => {}) {
    this.log = log
  }

  async check(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
      this.passed.push(name)
      this.log(`ok   ${name}`)
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err)
      this.violations.push(`${name}: ${msg}`)
      this.log(`FAIL ${name}: ${msg}`)
    }
  }
}

export const label = (d: Daemon): string => `${d.kind} ${d.dataDir.slice(d.dataDir.lastIndexOf('/') + 1)}`

/** Every daemon answers its control API. */
export async function allAnswer(daemons: Daemon[]): Promise<void> {
  for (const d of daemons) {
    await waitFor(`${label(d)} to answer GET /v1/status`, async () => await call(d, 'GET', '/v1/status'), 60_000)
  }
}

/** PPay: every coin acknowledged as paid reaches its payee, once, and cashes in full. */
export async function ppayIntact(payer: Daemon, payee: Daemon, paid: AckedPayment[]): Promise<void> {
  await waitFor(
    'the payer to deliver what it queued',
    async () => (await call(payer, 'POST', '/v1/ppay/retry')).pendingDeliveries === 0,
    120_000
  )
  const coins = (await call(payee, 'GET', '/v1/ppay/coins')).held as Array<{ sn: string }>
  const held = new Set(coins.map(h => h.sn))
  const lost = paid.flatMap(p => p.sns).filter(sn => !held.has(sn))
  assert.deepEqual(lost, [], `${lost.length} acknowledged coins missing at the payee`)
  const cashed = await call(payee, 'POST', '/v1/ppay/cash', {}, 60_000)
  assert.equal(cashed.refused.length, 0, `cashing refused: ${JSON.stringify(cashed.refused.slice(0, 3))}`)
  assert.equal(cashed.value, held.size, 'the value cashed is not the coins held')
}

/** The file market: every purchase acknowledged done is on disk and in the books; every cheque gets deposited. */
export async function fairexIntact(
  buyer: Daemon,
  provider: Daemon,
  bought: AckedPurchase[],
  fileSha: string
): Promise<void> {
  const rows = (await call(buyer, 'GET', '/v1/fairex/purchases')).purchases as Array<{ serial: string; status: string }>
  const records = new Map(rows.map(p => [p.serial, p.status]))
  for (const b of bought) {
    assert.equal(records.get(b.serial), 'done', `acknowledged purchase ${b.serial} in the buyer's books`)
    assert.equal(sha256(b.out), fileSha, `the file of acknowledged purchase ${b.serial}`)
  }
  await waitFor(
    'the provider to deposit every cheque',
    async () => {
      await call(provider, 'POST', '/v1/fairex/deposit', {}, 60_000)
      return (await call(provider, 'GET', '/v1/fairex/sales')).pendingDeposits === 0
    },
    120_000
  )
}

/** The broker's conservation audit: what was topped up is in accounts or in custody. */
export async function auditHolds(broker: Daemon): Promise<void> {
  const audit = await call(broker, 'GET', '/v1/audit')
  assert.equal(audit.holds, true, `broker audit: ${JSON.stringify(audit)}`)
}

/** Only honest parties run: no PPay fraud proof, no file-market ban. */
export async function nobodyConvicted(broker: Daemon, judge: Daemon): Promise<void> {
  const frauds = (await call(broker, 'GET', '/v1/ppay/frauds')).frauds as unknown[]
  assert.deepEqual(frauds, [], 'PPay fraud proofs against honest payers')
  const bans = (await call(judge, 'GET', '/v1/fairex/bans')).bans as unknown[]
  assert.deepEqual(bans, [], 'file-market bans of honest providers')
}

/** No node holds signed evidence that an honest Karma member lied. */
export async function noKarmaLiar(nodes: Daemon[]): Promise<void> {
  const name = (id: string): string => {
    const n = nodes.find(x => x.peerId === id)
    return n !== undefined ? label(n) : id
  }
  const named: string[] = []
  for (const n of nodes) {
    const caught = (await call(n, 'GET', '/v1/karma/caught')).caught as Array<Record<string, any>>
    for (const c of caught) {
      // the signed body, as text, so the report shows what the member said
      const body = /\{"[^}]*\}/.exec(Buffer.from(String(c.evidence), 'base64').toString('latin1'))?.[0] ?? '?'
      const at = new Date(Number(c.at)).toISOString()
      named.push(`${label(n)} named ${name(c.member)} a liar (${c.reason}) about ${name(c.account)} at ${at}: ${body}`)
    }
  }
  assert.equal(named.length, 0, `honest Karma members named liars:\n${named.join('\n')}`)
}

/**
 * Karma: finish what a kill left pending (each node's next transfer first completes its pending one), then every
 * acknowledged transfer is done at its payer, the sum of karma is what the nodes started with, and a majority of
 * every bank holds the balance the done transfers make.
 */
export async function karmaConserved(
  nodes: Daemon[],
  moved: AckedTransfer[],
  o: { k: number; initial: number; rand: () => number }
): Promise<void> {
  try {
    await karmaSettled(nodes, moved, o)
  } catch (err) {
    const books = await karmaBooks(nodes).catch(() => '(books unavailable)')
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${books}`)
  }
}

async function karmaSettled(
  nodes: Daemon[],
  moved: AckedTransfer[],
  o: { k: number; initial: number; rand: () => number }
): Promise<void> {
  await agreeOnBanks(nodes, o.k)
  const finished = new Set<Daemon>()
  await waitFor(
    'every node to complete a transfer',
    async () => {
      for (const n of nodes.filter(x => !finished.has(x))) {
        const others = nodes.filter(x => x !== n)
        const to = others[Math.floor(o.rand() * others.length)]
        try {
          moved.push(await call<AckedTransfer>(n, 'POST', '/v1/karma/transfer', { to: to.peerId, amount: 1 }, 30_000))
          finished.add(n)
        } catch {}
      }
      return finished.size === nodes.length
    },
    240_000
  )
  const done = new Map<string, { from: string; to: string; amount: number }>()
  /** each payer's done nonces: the bank applied exactly these debits, 1..n (a refused nonce is signed again) */
  const nonces = new Map<string, number[]>()
  for (const n of nodes) {
    const list: number[] = []
    for (const s of (await call(n, 'GET', '/v1/karma/sent')).sent as any[]) {
      assert.equal(s.status, 'done', `a transfer of ${label(n)} (nonce ${s.nonce}) is still pending`)
      done.set(s.requestHash, { from: n.peerId, to: s.to, amount: s.amount })
      list.push(s.nonce as number)
    }
    nonces.set(
      n.peerId,
      list.sort((a, b) => a - b)
    )
  }
  const undone = moved.filter(m => !done.has(m.requestHash)).map(m => m.requestHash)
  assert.deepEqual(undone, [], 'acknowledged transfers not done at their payer')
  await agreeOnBanks(nodes, o.k)
  await quiet(nodes)
  const expected = new Map(nodes.map(n => [n.peerId, o.initial]))
  for (const d of done.values()) {
    expected.set(d.from, expected.get(d.from)! - d.amount)
    expected.set(d.to, expected.get(d.to)! + d.amount)
  }
  let total = 0
  for (const [account, want] of expected) {
    const read = await waitFor(
      `a majority of bank(${account}) to agree`,
      async () =>
        (await call(nodes[0], 'GET', `/v1/karma/balance?peer=${account}`, undefined, 30_000)) as {
          balance: number
          nonce: number
        },
      120_000
    )
    const payer = nodes.find(n => n.peerId === account)!
    const mine = nonces.get(account)!
    const applied = Array.from({ length: read.nonce }, (_, i) => i + 1)
    const missing = applied.filter(x => !mine.includes(x))
    const extra = mine.filter(x => !applied.includes(x) || mine.indexOf(x) !== mine.lastIndexOf(x))
    assert.ok(
      missing.length === 0 && extra.length === 0,
      `bank(${label(payer)}) applied its debits 1..${read.nonce}; its sent list has them done but for nonces ` +
        `[${missing.join(',')}] and besides them [${extra.join(',')}]`
    )
    const got = read.balance
    assert.equal(got, want, `majority balance of ${label(payer)} ${account}`)
    total += got
  }
  assert.equal(total, o.initial * nodes.length, 'the sum of karma')
}

/** No daemon reached the store's fatal path or logged an internal failure. */
export function cleanLogs(daemons: Daemon[]): void {
  const bad: string[] = []
  for (const d of daemons) {
    for (const l of logLines(d, 'store write failed')) bad.push(`${label(d)}: ${l}`)
    for (const l of logLines(d, '"level":"error"')) bad.push(`${label(d)}: ${l}`)
  }
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} internal failures logged`)
}

/** After all the kills every daemon still stops in order: SIGTERM, exit 0, within the grace. */
export async function stopsInOrder(daemons: Daemon[]): Promise<void> {
  const codes = await Promise.all(daemons.map(async d => ({ d, code: await d.stop(30_000) })))
  const bad = codes.filter(c => c.code !== 0).map(c => `${label(c.d)} exited ${String(c.code)}`)
  assert.deepEqual(bad, [], 'daemons that did not stop in order')
}
