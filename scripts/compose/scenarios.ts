// The compose testnet's scenarios: PPay, the file market and Karma, each driven through the CLI
// inside the containers (scripts/compose/exec.ts) and each ending with its result checked.
//   node scripts/compose/scenarios.ts --nodes 5     (COMPOSE_PROJECT_NAME and COMPOSE_FILE set)
import { parseArgs } from 'node:util'
import { check, p2pay, retry, sh, sleep, type Service } from './exec.ts'

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '5' } } })
const broker: Service = { service: 'broker', index: 1, name: 'broker' }
const judge: Service = { service: 'judge', index: 1, name: 'judge' }
const third: Service[] = [broker, { service: 'ttp', index: 1, name: 'ttp' }, judge]
const nodes: Service[] = Array.from({ length: Number(values.nodes) }, (_, i) => ({
  service: 'node' as const,
  index: i + 1,
  name: `node_${i + 1}`
}))
const ids = new Map<Service, string>()
const idOf = (s: Service): string => ids.get(s) ?? '?'
const line = (s: string): void => {
  process.stdout.write(s + '\n')
}
const READY_S = 300 // daemons of a loaded 2-core host took 40 s to come up; a first start may take more

async function accounts(): Promise<Record<string, number>> {
  return (await p2pay(broker, ['broker', 'accounts'])).accounts
}

async function checkAudit(): Promise<void> {
  const a = await p2pay(broker, ['broker', 'audit'])
  check(
    a.holds === true && a.ac.holds === true,
    `broker audit holds: balances ${a.balances} + outstanding coins ${a.outstanding} + escrow ${a.escrow} ` +
      `against ${a.toppedUp} topped up; the AC's books hold`
  )
}

/** Every daemon answers `p2pay status` and each node is connected to the broker. */
async function waitForDaemons(): Promise<void> {
  const deadline = Date.now() + READY_S * 1000
  for (const s of [...third, ...nodes]) {
    for (;;) {
      try {
        const st = await p2pay(s, ['status'], 30_000)
        if (s.service !== 'node' || st.connections > 0) {
          ids.set(s, st.peerId)
          break
        }
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${s.name} not up after ${READY_S} s: ${String(err)}`)
      }
      await sleep(2000)
    }
  }
  line(`  all ${third.length + nodes.length} daemons answer: ${[...ids.values()].length} peer ids`)
}

async function ppay(): Promise<void> {
  line('\nPPay: buy, pay, reassign via the owner, a layered coin, cash, refund')
  const [a, b, c] = nodes
  const before = await accounts()
  await p2pay(broker, ['broker', 'topup', '--account', idOf(a), '--amount', '100'])
  const bought = await p2pay(a, ['ppay', 'buy', '--count', '4', '--value', '5'])
  check(bought.coins === 4 && bought.value === 20, `${a.name} bought 4 coins of 5`)
  const p1 = await p2pay(a, ['ppay', 'pay', '--to', idOf(b), '--amount', '10'])
  check(
    p1.coins.every((x: any) => x.via === 'assign' && x.delivered),
    `${a.name} paid ${b.name} 10 (assigned)`
  )
  const p2 = await p2pay(b, ['ppay', 'pay', '--to', idOf(c), '--amount', '5'])
  check(
    p2.coins.every((x: any) => x.via === 'reassign'),
    `${b.name} paid ${c.name} 5 (reassigned via the owner)`
  )
  const p3 = await p2pay(b, ['ppay', 'pay', '--to', idOf(c), '--amount', '5', '--layered'])
  check(
    p3.coins.every((x: any) => x.via === 'layer'),
    `${b.name} paid ${c.name} 5 (layered coin)`
  )
  const cashed = await p2pay(c, ['ppay', 'cash'])
  check(cashed.value === 10 && cashed.refused.length === 0, `${c.name} cashed 10, nothing refused`)
  const refund = await p2pay(a, ['ppay', 'refund'])
  check(refund.value === 10, `${a.name} took back 10 for the 2 coins it never assigned`)
  const after = await accounts()
  const delta = (s: Service): number => (after[idOf(s)] ?? 0) - (before[idOf(s)] ?? 0)
  check(delta(a) === 90 && delta(b) === 0 && delta(c) === 10, 'accounts: payer +100 -20 +10, payee of both +10')
  const frauds = (await p2pay(broker, ['broker', 'frauds'])).frauds
  check(frauds.length === 0, 'no fraud proof against anyone')
  await checkAudit()
}

async function fileMarket(): Promise<void> {
  line('\nFile market (fixed form): a 3 MB file sold between two containers, the cheque deposited')
  const [provider, buyer] = nodes.slice(-2)
  const price = 20
  const made = await sh(provider, [
    'sh',
    '-c',
    'head -c 3000000 /dev/urandom > /data/film.bin && sha256sum /data/film.bin'
  ])
  const sha = made.split(' ')[0]
  await p2pay(broker, ['broker', 'topup', '--account', idOf(buyer), '--amount', '100'])
  const before = await accounts()
  const share = await p2pay(provider, ['fairex', 'share', '--path', '/data/film.bin', '--price', String(price)])
  const buy = await p2pay(
    buyer,
    ['fairex', 'buy', '--provider', idOf(provider), '--file', share.fileId, '--out', '/data/bought.bin'],
    300_000
  )
  check(buy.status === 'done', `${buyer.name} bought ${share.fileId.slice(0, 12)}… (${share.pieces} pieces)`)
  const got = (await sh(buyer, ['sha256sum', '/data/bought.bin'])).split(' ')[0]
  check(got === sha, `the bought file is identical (sha256 ${sha.slice(0, 16)}…)`)
  const dep = await p2pay(provider, ['fairex', 'deposit'])
  check(
    dep.results.length === 1 && dep.paid + dep.held === price,
    `${provider.name} deposited the cheque: ${dep.paid} paid, ${dep.held} held for the complaint window`
  )
  const after = await accounts()
  check(after[idOf(buyer)] - before[idOf(buyer)] === -price, `${buyer.name}'s account paid the price, ${price}`)
  const verdicts = (await p2pay(judge, ['judge', 'verdicts'])).verdicts
  const bans = (await p2pay(judge, ['judge', 'bans'])).bans
  check(verdicts.length === 0 && bans.length === 0, 'the judge gave no verdict and banned nobody (an honest sale)')
  await checkAudit()
}

async function karma(): Promise<void> {
  line('\nKarma: every node joins, transfers between bank-sets, balances read from other nodes')
  const k = (await p2pay(nodes[0], ['karma', 'bankset'])).k
  const deadline = Date.now() + READY_S * 1000
  for (const n of nodes) {
    // a bank-set is computed from the DHT: wait until the node sees k other Karma peers
    while ((await p2pay(n, ['karma', 'bankset'])).bank.length < k) {
      if (Date.now() > deadline) throw new Error(`${n.name} sees fewer than k = ${k} Karma peers`)
      await sleep(2000)
    }
  }
  const ledger = new Map<Service, number>()
  for (const n of nodes) {
    const j = await retry(5, 5000, async () => await p2pay(n, ['karma', 'join'], 300_000))
    ledger.set(n, j.balance)
  }
  const initial = ledger.get(nodes[0]) ?? 0
  check(
    [...ledger.values()].every(v => v === initial && v > 0),
    `${nodes.length} accounts opened with ${initial}`
  )
  const moves: Array<[number, number, number]> = [
    [0, 1, 25],
    [1, 2, 10],
    [2, 0, 5],
    [3, 0, 40]
  ]
  for (const [from, to, amount] of moves) {
    const f = nodes[from % nodes.length]
    const t = nodes[to % nodes.length]
    const r = await p2pay(f, ['karma', 'transfer', '--to', idOf(t), '--amount', String(amount)], 120_000)
    check(
      r.amount === amount && r.debitedBy.length > k / 2 && r.creditedBy.length > k / 2,
      `${f.name} -> ${t.name} ${amount}: a majority of both bank-sets confirmed`
    )
    ledger.set(f, (ledger.get(f) ?? 0) - amount)
    ledger.set(t, (ledger.get(t) ?? 0) + amount)
  }
  let sum = 0
  for (const [i, n] of nodes.entries()) {
    // read by another node: what a strict majority of bank(n) signed, not n's own view
    const reader = nodes[(i + 1) % nodes.length]
    const b = await p2pay(reader, ['karma', 'balance', idOf(n)])
    check(
      b.balance === ledger.get(n) && b.agreed.length > k / 2,
      `bank(${n.name}) majority says ${b.balance} (read by ${reader.name}), as the ledger`
    )
    sum += b.balance
  }
  check(sum === initial * nodes.length, `karma conserved: ${sum} in all`)
}

const t0 = Date.now()
try {
  line(`compose testnet: broker, ttp, judge and ${nodes.length} nodes`)
  await waitForDaemons()
  await ppay()
  await fileMarket()
  await karma()
  line(`\nscenarios passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
} catch (err) {
  process.exitCode = 1
  process.stderr.write(`scenarios failed: ${(err as Error).stack ?? String(err)}\n`)
}
