// The demo's Karma part: no bank at all. Each account is kept by its bank-set
// (the k peers nearest to it in the DHT), a transfer moves from bank(A) to
// bank(B) on strict majorities, and a read asks the whole bank-set and takes
// what a majority signed.
import type { Daemon } from '../lib/swarm.ts'
import { heading, line, name, sleep } from './show.ts'

/** Retries `fn` while the swarm's bank-sets settle (a fresh swarm's DHT takes a few seconds to agree). */
async function settled<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(err)}`)
      await sleep(500)
    }
  }
}

export async function karmaTransfer(from: Daemon, to: Daemon, amount: number): Promise<void> {
  const r = await settled(
    'karma transfer',
    async () => await from.api('POST', '/v1/karma/transfer', { to: to.peerId, amount })
  )
  line(`  ${name(from.peerId)} -> ${name(to.peerId)} ${amount} karma, ${r.status ?? 'done'}`)
}

export async function karmaDemo(nodes: Daemon[], k: number): Promise<void> {
  const [alice, bob, carol] = nodes
  heading(`Karma 1. ${nodes.length} peers join; each account is kept by the ${k} peers nearest to it in the DHT`)
  const joined = await Promise.all(
    nodes.map(async d => await settled('karma join', async () => await d.api('POST', '/v1/karma/join')))
  )
  line(`  every account opened with ${joined[0].balance} karma (a join costs a proof of work)`)
  const bank = await alice.api('GET', `/v1/karma/bankset?peer=${alice.peerId}`)
  line(`  bank(alice) = ${bank.bank.map(name).join(', ')}`)

  heading('Karma 2. transfers from bank(payer) to bank(payee), each on strict majorities')
  await karmaTransfer(alice, bob, 30)
  await karmaTransfer(bob, carol, 10)
  await karmaTransfer(carol, alice, 5)

  heading('Karma 3. majority reads: a reader asks the whole bank-set and keeps what a majority signed')
  const expected = new Map([
    [alice.peerId, joined[0].balance - 30 + 5],
    [bob.peerId, joined[1].balance + 30 - 10],
    [carol.peerId, joined[2].balance + 10 - 5]
  ])
  const reader = nodes.at(-1)!
  for (const [account, want] of expected) {
    const r = await settled('majority read', async () => {
      const got = await reader.api('GET', `/v1/karma/balance?peer=${account}`)
      if (got.balance !== want) throw new Error(`balance ${got.balance}, expected ${want}`)
      return got
    })
    line(
      `  ${name(reader.peerId)} reads ${name(account)}: ${r.balance} karma, ` +
        `${r.agreed.length} of ${k} members agree` +
        (r.disagreed.length > 0 ? `, ${r.disagreed.length} disagree` : '')
    )
  }
}
