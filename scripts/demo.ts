// `npm start`: a small PPay economy on loopback. A broker and three peers run as
// real processes with temporary data dirs; one peer tries to cheat. Prints what
// happened and leaves nothing running.
import { Swarm, type Daemon } from './lib/swarm.ts'

const swarm = new Swarm('demo')
const names = new Map<string, string>()
const name = (id: string): string => names.get(id) ?? id.slice(-8)
const line = (s = ''): void => {
  process.stdout.write(s + '\n')
}
let lastSn = ''
const counts = { payments: 0, reassignments: 0, downtime: 0, layered: 0, cashed: 0 }

async function pay(from: Daemon, to: Daemon, amount: number, layered = false): Promise<void> {
  const r = await from.api('POST', '/v1/ppay/pay', { to: to.peerId, amount, layered })
  counts.payments++
  lastSn = r.coins[0].sn
  const vias = r.coins.map((c: any) => c.via)
  for (const v of vias) {
    if (v === 'reassign') counts.reassignments++
    if (v === 'downtime') counts.downtime++
    if (v === 'layer') counts.layered++
  }
  line(
    `  ${name(from.peerId)} paid ${name(to.peerId)} ${amount} with ${r.coins.length} coin(s) ` +
      `via ${[...new Set(vias)].join(', ')}`
  )
}

async function main(): Promise<void> {
  line('p2pay demo: PPay on a local libp2p swarm (broker + alice, bob, carol as separate processes)')
  const broker = await swarm.startBroker()
  const [alice, bob, carol] = await swarm.startNodes(3, ['--allow-cheats'])
  names.set(broker.peerId, 'broker').set(alice.peerId, 'alice').set(bob.peerId, 'bob').set(carol.peerId, 'carol')
  line(`  broker ${broker.addr}`)
  for (const d of [alice, bob, carol]) line(`  ${name(d.peerId).padEnd(6)} ${d.peerId}`)

  line('\n1. money comes in and coins are bought')
  await broker.api('POST', '/v1/topup', { account: alice.peerId, amount: 100 })
  await broker.api('POST', '/v1/topup', { account: bob.peerId, amount: 50 })
  await alice.api('POST', '/v1/ppay/buy', { count: 10, value: 5 })
  line('  alice bought 10 coins of 5 (she owns them; whoever holds one can spend it on)')

  line('\n2. payments and reassignments through the coin owner')
  await pay(alice, bob, 15)
  await pay(bob, carol, 5)
  await pay(carol, bob, 5)

  line('\n3. alice (owner of the coins) goes offline: the broker reassigns for her')
  await alice.stop()
  await pay(bob, carol, 5)
  await alice.start()
  await alice.api('POST', '/v1/ppay/sync')
  const trail = (await alice.api('GET', `/v1/ppay/trail?sn=${lastSn}`)).trail
  line(
    '  alice is back; her audit trail for that coin now ends with: ' +
      `seq ${trail.at(-1).seq} to ${name(trail.at(-1).holder)}, signed by the ${trail.at(-1).by}`
  )

  line('\n4. layered coins: bob pays by adding a layer instead of asking alice')
  await pay(bob, carol, 5, true)

  line('\n5. a fraud attempt: bob spends one coin on carol (via alice) and on alice (via the broker)')
  await pay(alice, bob, 5)
  const cheat = await bob.api('POST', '/v1/ppay/cheat/double-spend', { to1: carol.peerId, to2: alice.peerId })
  line(`  bob signed two reassignment requests for coin ${cheat.sn.slice(0, 8)}…`)
  const found = await alice.api('POST', '/v1/ppay/sync')
  line(`  alice's sync found ${found.frauds.length} conflict(s) and sent the evidence to the broker`)

  line('\n6. everyone cashes')
  for (const d of [alice, bob, carol]) {
    const c = await d.api('POST', '/v1/ppay/cash')
    counts.cashed += c.paid
    const comp = c.coins.filter((x: any) => x.from === 'compensation').length
    line(
      `  ${name(d.peerId).padEnd(6)} cashed ${c.paid} coin(s) worth ${c.value}` +
        (comp > 0 ? ` (${comp} paid from the culprit's account)` : '') +
        (c.refused.length > 0 ? `, ${c.refused.length} refused` : '')
    )
  }
  const refund = await alice.api('POST', '/v1/ppay/refund')
  const refundB = await bob.api('POST', '/v1/ppay/refund')
  line(`  alice took back ${refund.value + refundB.value} for coins she never used`)

  const frauds = (await broker.api('GET', '/v1/ppay/frauds')).frauds
  const accounts = (await broker.api('GET', '/v1/accounts')).accounts
  const audit = await broker.api('GET', '/v1/audit')
  line('\nSummary')
  line(
    `  payments ${counts.payments}, coin reassignments via owner ${counts.reassignments}, ` +
      `via broker (owner offline) ${counts.downtime}, layered ${counts.layered}, coins cashed ${counts.cashed}`
  )
  for (const f of frauds) {
    line(
      `  fraud proof ${f.id.slice(0, 12)}…: ${f.kind}, convicted ${name(f.culprit)}, coin ${f.sn.slice(0, 8)}…, ` +
        `${f.evidence.length} envelopes signed by the culprit; ` +
        `compensated ${f.compensated.map((c: any) => `${name(c.holder)} ${c.value}`).join(', ') || 'nobody yet'}`
    )
  }
  line(
    `  balances: ${Object.entries(accounts)
      .map(([k, v]) => `${name(k)} ${String(v)}`)
      .join(', ')}`
  )
  line(
    `  conservation: balances ${audit.balances} + outstanding coins ${audit.outstanding} ` +
      `= topped up ${audit.toppedUp}: ${audit.holds ? 'holds' : 'BROKEN'}`
  )
  if (!audit.holds || frauds.length !== 1 || frauds[0].culprit !== bob.peerId)
    throw new Error('demo outcome is not what the protocol promises')
}

try {
  await main()
} catch (err) {
  process.exitCode = 1
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`)
} finally {
  await swarm.stopAll()
  line('\nall daemons stopped; temporary data removed')
}
