// BBS04's mcl-wasm (about 20 MiB resident per thread) stays off a node's own thread: a node that hosts WhoPay but
// has not used it has loaded no mcl-wasm (nor AggSign's blst) and started no worker thread; once it joins and pays,
// mcl-wasm is loaded in its worker threads only. What each thread loaded is read from the daemons themselves (a
// preloaded module hook).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type Daemon } from './helpers/swarm.ts'
import { coins, joinAll, pay, startWhopay, type WhopaySwarm } from './helpers/whopay.ts'

const HOOK = resolve(import.meta.dirname, 'helpers', 'module-log.ts')
const logs = mkdtempSync(join(tmpdir(), 'p2pay-modules-'))
let s: WhopaySwarm
let payer: Daemon, payee: Daemon

/** The modules `d` loaded so far, by thread id (0: its own thread). */
function loaded(d: Daemon): Map<number, string[]> {
  const byThread = new Map<number, string[]>()
  for (const line of readFileSync(join(logs, `${d.pid}.log`), 'utf8').split('\n')) {
    const at = line.indexOf(' ')
    if (at < 0) continue
    const id = Number(line.slice(0, at))
    byThread.set(id, [...(byThread.get(id) ?? []), line.slice(at + 1)])
  }
  return byThread
}
const mcl = (urls: string[] = []): string[] => urls.filter(u => u.includes('/mcl-wasm/'))
const blst = (urls: string[] = []): string[] => urls.filter(u => u.includes('/@chainsafe/blst'))

before(async () => {
  const saved = { args: process.env.P2PAY_NODE_ARGS, log: process.env.P2PAY_MODULE_LOG }
  process.env.P2PAY_NODE_ARGS = `--import ${HOOK}`
  process.env.P2PAY_MODULE_LOG = logs
  try {
    s = await startWhopay('whopay-mcl', { nodes: 2, topup: 100, join: false })
  } finally {
    for (const [k, v] of [
      ['P2PAY_NODE_ARGS', saved.args],
      ['P2PAY_MODULE_LOG', saved.log]
    ] as const)
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
  ;[payer, payee] = s.nodes
})
after(async () => {
  await s?.swarm.stopAll()
  rmSync(logs, { recursive: true, force: true })
})

test('a node that has not used WhoPay has loaded no mcl-wasm, no blst, and started no worker thread', async () => {
  assert.equal((await payer.api('GET', '/v1/status')).schemes.whopay.joined, false)
  const threads = loaded(payer)
  const own = threads.get(0) ?? []
  assert.ok(
    own.some(u => u.endsWith('/packages/whopay/src/net/wallet-service.ts')),
    'the hook sees the node load its WhoPay wallet'
  )
  assert.deepEqual(mcl(own), [])
  assert.deepEqual(blst(own), [], 'AggSign unused: its BLS addon not loaded')
  assert.deepEqual([...threads.keys()], [0], 'no worker thread')
})

test('a node that joins and pays signs in worker threads: mcl-wasm is loaded there, never on its own', async () => {
  await joinAll([payer, payee])
  await payer.api('POST', '/v1/whopay/buy', { value: 3 })
  await pay(payer, payee, 3)
  assert.equal((await coins(payee)).held.length, 1, 'the payee holds the coin')
  for (const d of [payer, payee]) {
    const threads = loaded(d)
    assert.deepEqual(mcl(threads.get(0)), [], `${d.dataDir}: no mcl-wasm on the node's own thread`)
    const workers = [...threads.entries()].filter(([id, urls]) => id !== 0 && mcl(urls).length > 0)
    assert.ok(workers.length >= 1, `${d.dataDir}: mcl-wasm in a worker thread`)
  }
})
