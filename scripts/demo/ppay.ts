// The demo's PPay part: coins bought, payments and reassignments through the
// coin owner, the broker standing in for an owner that is offline, layered
// coins, a double spend caught and paid for by its culprit, cashing, refunds.
import type { Daemon } from '../lib/swarm.ts'
import { heading, line, name } from './show.ts'

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

/** Runs the PPay story among alice, bob and carol (their nodes run with --allow-cheats). */
export async function ppayDemo(broker: Daemon, alice: Daemon, bob: Daemon, carol: Daemon): Promise<void> {
  heading('PPay 1. money comes in and coins are bought')
  await alice.api('POST', '/v1/ppay/buy', { count: 10, value: 5 })
  line('  alice bought 10 coins of 5 (she owns them; whoever holds one can spend it on)')

  heading('PPay 2. payments and reassignments through the coin owner')
  await pay(alice, bob, 15)
  await pay(bob, carol, 5)
  await pay(carol, bob, 5)

  heading('PPay 3. alice (owner of the coins) goes offline: the broker reassigns for her')
  await alice.stop()
  await pay(bob, carol, 5)
  await alice.start()
  await alice.api('POST', '/v1/ppay/sync')
  const trail = (await alice.api('GET', `/v1/ppay/trail?sn=${lastSn}`)).trail
  line(
    '  alice is back; her audit trail for that coin now ends with: ' +
      `seq ${trail.at(-1).seq} to ${name(trail.at(-1).holder)}, signed by the ${trail.at(-1).by}`
  )

  heading('PPay 4. layered coins: bob pays by adding a layer instead of asking alice')
  await pay(bob, carol, 5, true)

  heading('PPay 5. a fraud attempt: bob spends one coin on carol (via alice) and on alice (via the broker)')
  await pay(alice, bob, 5)
  const cheat = await bob.api('POST', '/v1/ppay/cheat/double-spend', { to1: carol.peerId, to2: alice.peerId })
  line(`  bob signed two reassignment requests for coin ${cheat.sn.slice(0, 8)}…`)
  const found = await alice.api('POST', '/v1/ppay/sync')
  line(`  alice's sync found ${found.frauds.length} conflict(s) and sent the evidence to the broker`)

  heading('PPay 6. everyone cashes')
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
  if (frauds.length !== 1 || frauds[0].culprit !== bob.peerId)
    throw new Error('PPay: the double spend was not pinned on bob alone')
}
