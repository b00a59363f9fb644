// Reads of the WhoPay routes for the integration tests, and the conservation
// check every scenario ends with; the swarm itself is started as the benchmark
// starts it (scripts/lib/whopay-swarm.ts).
import assert from 'node:assert/strict'
import { audit, type Daemon } from './swarm.ts'

export { freePort, joinAll, startWhopay, type WhopayOptions, type WhopaySwarm } from '../../scripts/lib/whopay-swarm.ts'

export const coins = async (d: Daemon): Promise<any> => await d.api('GET', '/v1/whopay/coins')
export const frauds = async (broker: Daemon): Promise<any[]> => (await broker.api('GET', '/v1/whopay/frauds')).frauds
export const openings = async (judge: Daemon): Promise<any[]> =>
  (await judge.api('GET', '/v1/whopay/openings')).openings
export const balance = async (broker: Daemon, d: Daemon): Promise<number> =>
  (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance

/** What a node's purse holds, as the broker keeps it (the wallet knows its purse key, not what was withdrawn). */
export async function purse(broker: Daemon, d: Daemon): Promise<number> {
  const key: string = (await coins(d)).purse.key
  return (await broker.api('GET', '/v1/whopay/coins')).purses[key] ?? 0
}

/** A payment to `to` at its address (a peer id alone is dialled only once the payer's node has found it). */
export const pay = async (from: Daemon, to: Daemon, amount: number): Promise<any> =>
  await from.api('POST', '/v1/whopay/pay', { to: to.addr, amount })

/** The held coin of `d` with this coin key, if it holds it. */
export const heldCoin = async (d: Daemon, coin: string): Promise<any> =>
  (await coins(d)).held.find((c: any) => c.coin === coin)

/** Money topped up = balances + every scheme's custody, and WhoPay's own books hold. */
export async function conserved(broker: Daemon): Promise<any> {
  const a: any = await audit(broker)
  assert.equal(a.holds, true, JSON.stringify(a))
  return a
}
