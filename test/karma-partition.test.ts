// Karma across long absences, with real `p2pay node` processes (10 nodes,
// k = 5, and the broker they bootstrap from):
//  - a majority of one account's bank frozen with SIGSTOP for longer than it
//    takes the others to drop them (failed calls, liveness pings: 95 s at least), while
//    transfers go on, then resumed: every acknowledged transfer is kept, the
//    majority reads agree with the ledger, every member's books converge;
//  - two members in each other's banks killed with kill -9 while transfers go
//    on, then restarted: their books converge without a new transfer.
import { test, before, after } from 'node:test'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { bankSet } from '@p2pay/karma'
import { Swarm, Daemon, waitFor } from './helpers/swarm.ts'
import { rng, sum } from './helpers/karma.ts'

const K = 5
const N = 10
const INITIAL = 1000
const ARGS = ['--karma-k', String(K), '--karma-pow-bits', '8', '--karma-sync-ms', '1000']
/** the freeze ends this long after the live nodes dropped the frozen ones from the bank (transfers go on) */
const AFTER_DROP_MS = 10_000
/** longer than the liveness pings take to drop a frozen peer's connections (every 60 s, then a ping timeout) */
const MIN_FREEZE_MS = 95_000
/** the live nodes re-form bank(X) without the frozen peers (failed calls or pings): waited for at most this long */
const DROP_WAIT_MS = 150_000
/** a daemon's start, on a machine loaded by other work */
const START_MS = 120_000
const swarm = new Swarm('karma-partition')
let nodes: Daemon[] = []
const frozen = new Set<Daemon>()
const rand = rng(11)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
const byId = (id: string): Daemon => nodes.find(d => d.peerId === id)!
const ids = (): string[] => nodes.map(d => d.peerId)
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

async function agreeOn(accounts: string[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'every node to agree on bank-sets',
    async () => {
      for (const a of accounts) {
        const want = JSON.stringify(bankSet(a, ids(), K))
        for (const d of nodes)
          if (JSON.stringify((await d.api('GET', `/v1/karma/bankset?peer=${a}&fresh=1`)).bank) !== want) return false
      }
      return true
    },
    timeoutMs
  )
}

/** Transfers from `payers` until `until()`; the hashes of those acknowledged (2xx), and how many failed. */
async function transfersUntil(
  payers: Daemon[],
  payees: string[],
  until: () => boolean
): Promise<{ acked: string[]; failed: number; why: Map<string, number> }> {
  const acked: string[] = []
  let failed = 0
  // each refusal's code and the start of its message, counted: what a run with nothing acknowledged needs to say
  const why = new Map<string, number>()
  await Promise.all(
    payers.map(async p => {
      while (!until()) {
        const to = pick(payees.filter(x => x !== p.peerId))
        try {
          const r = await p.api('POST', '/v1/karma/transfer', { to, amount: 1 + Math.floor(rand() * 20) })
          acked.push(r.requestHash)
        } catch (err: any) {
          failed++
          const key = String(err?.message ?? err).slice(0, 120)
          why.set(key, (why.get(key) ?? 0) + 1)
          await sleep(500)
        }
      }
    })
  )
  return { acked, failed, why }
}

/** Every node's pending transfer completes (its next transfer retries it first); the ledger of all done transfers. */
async function settleLedger(): Promise<{ done: Set<string>; expected: Map<string, number> }> {
  for (const d of nodes) {
    await waitFor(
      `${d.peerId}'s pending transfers to complete`,
      async () => {
        const sent = (await d.api('GET', '/v1/karma/sent')).sent as any[]
        if (!sent.some(r => r.status === 'pending')) return true
        await d.api('POST', '/v1/karma/transfer', { to: nodes.find(x => x !== d)!.peerId, amount: 1 }).catch(() => {})
        return false
      },
      120_000
    )
  }
  const done = new Set<string>()
  const expected = new Map(nodes.map(d => [d.peerId, INITIAL]))
  for (const d of nodes) {
    for (const r of (await d.api('GET', '/v1/karma/sent')).sent as any[]) {
      if (r.status !== 'done') continue
      done.add(r.requestHash)
      expected.set(d.peerId, expected.get(d.peerId)! - r.amount)
      expected.set(r.to, expected.get(r.to)! + r.amount)
    }
  }
  return { done, expected }
}

/** Every member of every bank holds the same balance and nonce of the account as the others (no transfer made). */
async function membersAgree(timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'the members of every bank to agree',
    async () => {
      for (const a of ids()) {
        const bank = bankSet(a, ids(), K)
        const rows = await Promise.all(
          bank.map(async m => (await byId(m).api('GET', `/v1/karma/books?account=${a}`)).row)
        )
        const seen = new Set(rows.map(r => `${r?.balance}/${r?.nonce}`))
        // who holds what (balance/nonce, and whether the row is synced): what a failure needs to be understood
        const held = rows.map(
          (r, i) => `${bank[i]}: ${r?.balance}/${r?.nonce}${r?.synced === false ? ' unsynced' : ''}`
        )
        if (seen.size !== 1) throw new Error(`bank(${a}) holds ${held.join(', ')}`)
      }
      return true
    },
    timeoutMs
  )
}

/** Majority reads agree with the ledger, and (without a new transfer) every member of every bank holds it. */
async function checkConverged(expected: Map<string, number>): Promise<void> {
  assert.equal(sum(expected.values()), INITIAL * N)
  const off: string[] = []
  for (const [a, want] of expected) {
    const got: { balance: number } = await waitFor(
      `a majority of bank(${a})`,
      async () => await nodes[0].api('GET', `/v1/karma/balance?peer=${a}`),
      60_000
    )
    if (got.balance !== want) off.push(`${a}: majority ${got.balance}, ledger ${want}`)
  }
  assert.deepEqual(off, [], 'majority balances')
  await waitFor(
    'every member of every bank to hold the ledger',
    async () => {
      for (const [a, want] of expected)
        for (const m of bankSet(a, ids(), K)) {
          const row = (await byId(m).api('GET', `/v1/karma/books?account=${a}`)).row
          if (row?.balance !== want) throw new Error(`${m} holds ${row?.balance} of ${a}, the ledger ${want}`)
        }
      return true
    },
    90_000
  )
}

before(async () => {
  await swarm.startBroker()
  // listed before they start, so the swarm stops every one that started; a loaded machine starts ten daemons at
  // once slower than the usual start timeout
  nodes = Array.from(
    { length: N },
    (_, i) => new Daemon('node', join(swarm.dir, `node${i}`), ['--broker', swarm.broker.addr, ...ARGS])
  )
  swarm.nodes.push(...nodes)
  await Promise.all(nodes.map(async d => await d.start(START_MS)))
  await agreeOn(ids().slice(0, 3))
  // a few at a time, each tried again until it answers (a join is idempotent): the API times out under load
  for (let i = 0; i < N; i += 3)
    await Promise.all(
      nodes
        .slice(i, i + 3)
        .map(
          async d => await waitFor(`${d.peerId} to join`, async () => await d.api('POST', '/v1/karma/join'), 120_000)
        )
    )
  await agreeOn(ids())
})
/**
 * Freezing three members of bank(x): who they are, the live payers whose banks keep a live majority (not x) and the
 * accounts, frozen nodes' included, whose banks do.
 */
function planFreeze(x: Daemon): { X: Daemon; frozen: Daemon[]; steadyPayers: Daemon[]; steadyAccounts: string[] } {
  const cold = bankSet(x.peerId, ids(), K).slice(0, 3)
  const keepsMajority = (a: string): boolean =>
    bankSet(a, ids(), K).filter(m => !cold.includes(m)).length > Math.floor(K / 2)
  return {
    X: x,
    frozen: cold.map(byId),
    steadyPayers: nodes.filter(d => d !== x && !cold.includes(d.peerId) && keepsMajority(d.peerId)),
    steadyAccounts: ids().filter(a => a !== x.peerId && keepsMajority(a))
  }
}

/** SIGCONT to a frozen daemon; one that is gone says how it went. */
function thaw(d: Daemon): void {
  try {
    process.kill(d.pid, 'SIGCONT')
  } catch {
    throw new Error(`${d.peerId} (pid ${d.pid}) is gone: exit ${d.proc?.exitCode}, signal ${d.proc?.signalCode}`)
  }
}

after(async () => {
  // every daemon is stopped even if a frozen one is gone
  for (const d of frozen) {
    try {
      thaw(d)
    } catch {}
  }
  await swarm.stopAll()
})

test(
  'a majority of bank(X) frozen (SIGSTOP) past the others dropping them, transfers going on, then resumed: ' +
    'every acknowledged transfer is kept, majority reads agree with the ledger and every member converges',
  { timeout: 420_000 },
  async () => {
    // X, and the three members of bank(X) to freeze, such that a live payer and a payee (frozen or not) have banks
    // that keep a live majority: bank-sets of one small swarm overlap a lot (XOR distance), so not every X has them
    const plan = nodes.map(x => planFreeze(x)).find(p => p.steadyPayers.length > 0 && p.steadyAccounts.length >= 2)
    assert.ok(plan !== undefined, 'an account X whose frozen bank majority leaves a live payer with a live bank')
    const { X, steadyPayers, steadyAccounts } = plan
    for (const d of plan.frozen) frozen.add(d)
    const live = nodes.filter(d => !frozen.has(d))
    for (const d of frozen) process.kill(d.pid, 'SIGSTOP')
    let dropped = 0
    let stop = false
    const t0 = Date.now()
    const watch = (async () => {
      // the live nodes re-form bank(X) without the frozen members once their pings fail
      while (Date.now() - t0 < DROP_WAIT_MS) {
        const views = await Promise.all(
          live.map(async d => (await d.api('GET', `/v1/karma/bankset?peer=${X.peerId}`)).bank as string[])
        )
        if (views.every(v => [...frozen].every(f => !v.includes(f.peerId)))) {
          dropped = Date.now()
          break
        }
        await sleep(2000)
      }
      // and past the liveness pings' timeout, whichever dropped them first
      await sleep(Math.max(AFTER_DROP_MS, t0 + MIN_FREEZE_MS - Date.now()))
    })().finally(() => {
      stop = true
    })
    // payments go on among the live nodes, to and from X and to the frozen nodes' accounts. A payer retries a
    // transfer stuck on a bank with a frozen majority before any other, so such payers may be stuck all along; one
    // more payer keeps to accounts (its own included) whose banks keep a live majority, and must get through
    const anyPayers = [X, ...live.filter(d => d !== X).slice(0, 3)]
    const steady = steadyPayers.find(d => !anyPayers.includes(d)) ?? steadyPayers[0]
    const [during, steadyDuring] = await Promise.all([
      transfersUntil(
        anyPayers.filter(d => d !== steady),
        ids(),
        () => stop
      ),
      transfersUntil([steady], steadyAccounts, () => stop)
    ])
    await watch
    for (const d of frozen) thaw(d)
    const frozenMs = Date.now() - t0
    assert.ok(dropped > 0, `the live nodes never dropped the frozen members within ${DROP_WAIT_MS} ms`)
    // each frozen member noticed the gap in its own clock and reconciled before serving again
    for (const d of frozen) {
      const st = await waitFor(
        `${d.peerId} to reconcile`,
        async () => {
          const s = await d.api('GET', '/v1/karma/status')
          return s.reconciling === false && s.lastReconcile?.why === 'freeze' ? s : undefined
        },
        90_000
      )
      assert.ok(st.lastReconcile.done >= st.lastReconcile.at)
    }
    await agreeOn([X.peerId])
    const { done, expected } = await settleLedger()
    for (const h of [...during.acked, ...steadyDuring.acked])
      assert.ok(done.has(h), `acknowledged transfer ${h} is kept`)
    assert.ok(
      steadyDuring.acked.length > 0,
      `transfers among banks with a live majority were acknowledged during the freeze; ${steadyDuring.failed} ` +
        `refused: ${JSON.stringify([...steadyDuring.why])}`
    )
    await checkConverged(expected)
    console.log(
      `frozen ${frozenMs} ms (dropped after ${dropped - t0} ms); any payee: ${during.acked.length} acknowledged, ` +
        `${during.failed} failed: ${JSON.stringify([...during.why])}; live majorities only: ` +
        `${steadyDuring.acked.length} acknowledged, ${steadyDuring.failed} failed: ` +
        JSON.stringify([...steadyDuring.why])
    )
  }
)

test(
  "two members in each other's banks killed with kill -9 while transfers go on, then restarted: " +
    'their books converge with their banks without a new transfer',
  { timeout: 300_000 },
  async () => {
    // a failed freeze case may have left its daemons stopped
    for (const d of frozen) {
      try {
        thaw(d)
      } catch {}
    }
    frozen.clear()
    let pair: [Daemon, Daemon] | undefined
    for (const p of nodes)
      for (const q of nodes)
        if (pair === undefined && p !== q && bankSet(p.peerId, ids(), K).includes(q.peerId))
          if (bankSet(q.peerId, ids(), K).includes(p.peerId)) pair = [p, q]
    assert.ok(pair !== undefined, "two nodes in each other's banks")
    const [P, Q] = pair
    await Promise.all([P.kill9(), Q.kill9()])
    const live = nodes.filter(d => d !== P && d !== Q)
    // payments to the killed nodes' accounts, and among accounts whose banks they are in
    const touched = ids().filter(
      a => a !== P.peerId && a !== Q.peerId && bankSet(a, ids(), K).some(m => m === P.peerId || m === Q.peerId)
    )
    const end = Date.now() + 20_000
    const payers = live.filter(d => touched.includes(d.peerId)).slice(0, 3)
    const during = await transfersUntil(
      payers.length > 0 ? payers : live.slice(0, 3),
      [P.peerId, Q.peerId, ...touched],
      () => Date.now() > end
    )
    assert.ok(during.acked.length > 0, 'transfers went on while they were down')
    await Promise.all([P.start(START_MS), Q.start(START_MS)])
    for (const d of [P, Q])
      await waitFor(
        `${d.peerId} to reconcile after its start`,
        async () => {
          const s = await d.api('GET', '/v1/karma/status')
          return s.reconciling === false && s.lastReconcile?.why === 'start'
        },
        90_000
      )
    await agreeOn(touched.slice(0, 3))
    // no transfer since the restart: the bank sync rounds alone bring them level
    await membersAgree()
    const { done, expected } = await settleLedger()
    for (const h of during.acked) assert.ok(done.has(h), `acknowledged transfer ${h} is kept`)
    await checkConverged(expected)
  }
)
