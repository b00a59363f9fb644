// Karma end to end with real `p2pay node` processes started through the CLI:
// 16 nodes (and the broker they bootstrap from, which runs the DHT but keeps
// no karma books) on 127.0.0.1, TCP + Noise + Yamux, kad-dht, LevelDB.
// Bank-set agreement, joins, transfers (sequential and concurrent) with exact
// conservation, refusals that change nothing, and churn by kill -9.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { loadOrCreateIdentity, nodeEd25519, signerFor, fromB64, toB64 } from '@p2pay/core'
import { bankSet, bankKey, kadIdOfPeer, xorCompare, makeTransfer, seal, TAG, KIND } from '@p2pay/karma'
import { Swarm, Daemon, waitFor, ApiError } from './helpers/swarm.ts'
import { identityWhere, rng, sum } from './helpers/karma.ts'

const K = 5
const N = 16
const INITIAL = 1000
const ARGS = ['--karma-k', String(K), '--karma-pow-bits', '8', '--karma-sync-ms', '1000', '--allow-cheats']
const swarm = new Swarm('karma')
let nodes: Daemon[] = []
/** accounts opened, and what each must hold (the test's own ledger) */
const expected = new Map<string, number>()
const rand = rng(7)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
const move = (from: string, to: string, amount: number): void => {
  expected.set(from, expected.get(from)! - amount)
  expected.set(to, expected.get(to)! + amount)
}

const live = (): Daemon[] => nodes.filter(d => d.proc?.exitCode == null && d.proc?.signalCode == null)
const ids = (): string[] => live().map(d => d.peerId)
const balanceAt = async (reader: Daemon, account: string): Promise<any> =>
  await reader.api('GET', `/v1/karma/balance?peer=${account}`)
const books = async (member: Daemon, account: string): Promise<any> =>
  (await member.api('GET', `/v1/karma/books?account=${account}`)).row
const byId = (id: string): Daemon => nodes.find(d => d.peerId === id)!
const code =
  (c: string) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof ApiError, String(err))
    assert.equal(err.code, c, err.message)
    return true
  }

/** Every live node computes bank(account) = the set over all live nodes, from its own fresh DHT query. */
async function agreeOn(accounts: string[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `every node to agree on bank-sets of ${accounts.length} accounts`,
    async () => {
      for (const a of accounts) {
        const want = JSON.stringify(bankSet(a, ids(), K))
        const sets = await Promise.all(
          live().map(async d => JSON.stringify((await d.api('GET', `/v1/karma/bankset?peer=${a}&fresh=1`)).bank))
        )
        if (sets.some(s => s !== want)) return false
      }
      return true
    },
    timeoutMs
  )
}

/** Majority reads of every account match the test's ledger, and conservation holds exactly. */
async function checkLedger(reader: Daemon): Promise<void> {
  for (const [a, want] of expected) {
    // a bank that changed (churn) answers by majority again once its new members took the account over
    let got: any
    try {
      got = await waitFor(`a majority of bank(${a}) to answer`, async () => await balanceAt(reader, a), 60_000)
    } catch (err) {
      // what each live node holds for the account and takes for its bank: a failure here says which member is behind
      const rows = await Promise.all(
        live().map(async d => {
          const row = await books(d, a).catch(() => undefined)
          const bank = await d.api('GET', `/v1/karma/bankset?peer=${a}`).then(
            r => r.bank,
            () => undefined
          )
          return {
            node: d.peerId,
            row: row == null ? null : { balance: row.balance, nonce: row.nonce, synced: row.synced },
            bank
          }
        })
      )
      const trueBank = JSON.stringify(bankSet(a, ids(), K))
      throw new Error(
        `${String(err)}\nwanted ${want}; true bank ${trueBank}\n${rows.map(r => JSON.stringify(r)).join('\n')}`
      )
    }
    assert.equal(got.balance, want, `majority balance of ${a}`)
  }
  assert.equal(sum(expected.values()), INITIAL * expected.size)
}

/** Waits until no member has notices left to send. */
async function quiet(): Promise<void> {
  await waitFor(
    'outboxes to drain',
    async () => {
      for (const d of live()) if ((await d.api('GET', '/v1/karma/status')).outbox !== 0) return false
      return true
    },
    60_000
  )
}

before(async () => {
  await swarm.startBroker()
  nodes = await swarm.startNodes(N, ARGS)
})
after(async () => {
  await swarm.stopAll()
})

test('every node computes the same bank-set (the broker, a DHT server without Karma, is never in one)', async () => {
  await agreeOn([nodes[0].peerId, nodes[7].peerId, nodes[15].peerId])
  const sets = await Promise.all(
    live().map(async d => (await d.api('GET', `/v1/karma/bankset?peer=${nodes[3].peerId}`)).bank)
  )
  for (const s of sets) {
    assert.equal(s.length, K)
    assert.ok(!s.includes(nodes[3].peerId), 'an account is never in its own bank')
    assert.ok(!s.includes(swarm.broker.peerId))
  }
})

test('join through the CLI, then balances and bank-sets through the CLI (majority reads)', async () => {
  const A = nodes[0]
  const joined = await A.cli('karma', 'join')
  assert.equal(joined.account, A.peerId)
  assert.equal(joined.balance, INITIAL)
  expected.set(A.peerId, INITIAL)
  for (let i = 1; i < N; i += 5) {
    await Promise.all(
      nodes.slice(i, i + 5).map(async d => {
        assert.equal((await d.api('POST', '/v1/karma/join')).balance, INITIAL)
        expected.set(d.peerId, INITIAL)
      })
    )
  }
  // joining again opens nothing twice
  assert.equal((await A.api('POST', '/v1/karma/join')).balance, INITIAL)
  const read = await nodes[5].cli('karma', 'balance', A.peerId)
  assert.deepEqual([read.account, read.balance, read.nonce], [A.peerId, INITIAL, 0])
  assert.equal(read.agreed.length, K)
  assert.deepEqual(read.disagreed, [])
  const own = await A.cli('karma', 'balance')
  assert.equal(own.balance, INITIAL)
  const bs = await nodes[9].cli('karma', 'bankset', A.peerId, '--fresh')
  assert.deepEqual(bs.bank, bankSet(A.peerId, ids(), K))
  await checkLedger(nodes[2])
})

test(
  'transfers between random pairs, one after another and concurrently: ' +
    'every balance right, total conserved exactly',
  async () => {
    const all = nodes.map(d => d.peerId)
    // one through the CLI
    const viaCli = await nodes[1].cli('karma', 'transfer', '--to', nodes[2].peerId, '--amount', '11')
    assert.equal(viaCli.creditedBy.length >= 3 && viaCli.debitedBy.length >= 3, true)
    expected.set(nodes[1].peerId, expected.get(nodes[1].peerId)! - 11)
    expected.set(nodes[2].peerId, expected.get(nodes[2].peerId)! + 11)
    for (let i = 0; i < 15; i++) {
      const from = pick(all)
      const to = pick(all.filter(x => x !== from))
      const amount = 1 + Math.floor(rand() * 40)
      const r = await byId(from).api('POST', '/v1/karma/transfer', { to, amount })
      assert.equal(r.balance, expected.get(from)! - amount, 'balanceAfter as a majority of bank(A) signed it')
      expected.set(from, expected.get(from)! - amount)
      expected.set(to, expected.get(to)! + amount)
    }
    // concurrent: every node pays someone at once, some pairs overlap (A pays B while B pays C)
    const batch = all.map((from, i) => ({
      from,
      to: all[(i + 1 + Math.floor(rand() * (N - 1))) % N],
      amount: 1 + Math.floor(rand() * 20)
    }))
    const results = await Promise.allSettled(
      batch.map(async t => await byId(t.from).api('POST', '/v1/karma/transfer', { to: t.to, amount: t.amount }))
    )
    results.forEach((r, i) =>
      assert.equal(
        r.status,
        'fulfilled',
        `concurrent transfer ${i}: ${r.status === 'rejected' ? String(r.reason) : ''}`
      )
    )
    for (const t of batch) {
      expected.set(t.from, expected.get(t.from)! - t.amount)
      expected.set(t.to, expected.get(t.to)! + t.amount)
    }
    await checkLedger(nodes[3])
    // not only the majority: once notices are delivered, every member's books agree
    await quiet()
    for (const a of all) {
      for (const m of bankSet(a, ids(), K))
        assert.equal((await books(byId(m), a)).balance, expected.get(a), `books of ${m} for ${a}`)
    }
    await waitFor('the payee to hold majority receipts of both sides', async () => {
      const received = (await nodes[2].api('GET', '/v1/karma/received')).received
      return received.some((r: any) => r.from === nodes[1].peerId && r.amount === 11 && r.debits >= 3 && r.credits >= 3)
    })
  }
)

test(
  'refusals: insufficient balance, unknown payee, replayed nonce, forged ' + 'request; nothing changes anywhere',
  async () => {
    const A = nodes[4]
    const B = nodes[5]
    const C = nodes[6]
    const watched = [...new Set([...bankSet(A.peerId, ids(), K), ...bankSet(B.peerId, ids(), K)])]
    for (let i = 0; i < 2; i++) {
      await A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 1 })
      expected.set(A.peerId, expected.get(A.peerId)! - 1)
      expected.set(B.peerId, expected.get(B.peerId)! + 1)
    }
    // values, not key order: a refusal may make a member resync, which writes the same row again
    const sorted = (row: Record<string, unknown> | null): unknown =>
      row == null ? null : Object.fromEntries(Object.entries(row).sort(([x], [y]) => (x < y ? -1 : 1)))
    const snapshot = async (): Promise<string> =>
      JSON.stringify(
        await Promise.all(
          watched.map(async m => [m, sorted(await books(byId(m), A.peerId)), sorted(await books(byId(m), B.peerId))])
        )
      )
    await quiet()
    const before = await snapshot()
    const state = await balanceAt(A, A.peerId)

    await assert.rejects(
      A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: state.balance + 1 }),
      code('INSUFFICIENT_FUNDS')
    )
    const stranger = await identityWhere(join(swarm.dir, 'stranger'), () => true)
    await assert.rejects(A.api('POST', '/v1/karma/transfer', { to: stranger, amount: 1 }), code('NOT_FOUND'))
    await assert.rejects(A.api('POST', '/v1/karma/transfer', { to: A.peerId, amount: 1 }), code('BAD_REQUEST'))
    await assert.rejects(A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 0 }), code('BAD_REQUEST'))

    // requests signed with A's own key (the test reads it from A's data dir), relayed by another node
    const signer = signerFor(await loadOrCreateIdentity(A.dataDir), nodeEd25519())
    assert.equal(signer.peerId, A.peerId)
    const req = (nonce: number, amount = 1): string =>
      makeTransfer(signer, { to: B.peerId, amount, nonce, epoch: state.epoch, ts: Date.now() }).b64
    assert.ok(state.nonce >= 2)
    await assert.rejects(C.api('POST', '/v1/karma/submit', { request: req(state.nonce - 1) }), code('REPLAY'))
    // the same nonce as the last applied with other content: A's own fraud, refused with the evidence
    await assert.rejects(C.api('POST', '/v1/karma/submit', { request: req(state.nonce, 999) }), code('FRAUD'))
    await assert.rejects(C.api('POST', '/v1/karma/submit', { request: req(state.nonce + 2) }), code('STALE_SEQ'))
    // forged: C signs a request that says it is from A; and A's genuine request with one byte changed
    const cSigner = signerFor(await loadOrCreateIdentity(C.dataDir), nodeEd25519())
    const forged = seal(
      cSigner,
      TAG.transfer,
      { from: A.peerId, to: C.peerId, amount: 5, nonce: state.nonce + 1, epoch: state.epoch, ts: Date.now() },
      KIND.transfer
    ).b64
    await assert.rejects(C.api('POST', '/v1/karma/submit', { request: forged }), code('WRONG_SIGNER'))
    const bytes = fromB64(req(state.nonce + 1, 3))
    const at = Buffer.from(bytes).indexOf('"amount":3') + '"amount":'.length
    bytes[at] = '9'.charCodeAt(0)
    await assert.rejects(C.api('POST', '/v1/karma/submit', { request: toB64(bytes) }), code('BAD_SIGNATURE'))

    assert.equal(await snapshot(), before, 'no member of bank(A) or bank(B) changed anything')
    // A can still pay afterwards: its nonce was not used up by the refusals
    await A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 2 })
    expected.set(A.peerId, expected.get(A.peerId)! - 2)
    expected.set(B.peerId, expected.get(B.peerId)! + 2)
    await checkLedger(C)
  }
)

test('a bank member killed with -9 and restarted keeps its books (LevelDB) and serves again', async () => {
  const A = nodes[12]
  const B = nodes[13]
  await A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 4 })
  move(A.peerId, B.peerId, 4)
  await quiet()
  const member = byId(bankSet(B.peerId, ids(), K)[0])
  const before = await books(member, B.peerId)
  assert.equal(before.balance, expected.get(B.peerId))
  await member.kill9()
  await member.start()
  assert.deepEqual(await books(member, B.peerId), before)
  // it takes part again: a transfer into B needs its bank, and its books follow
  await agreeOn([B.peerId])
  await A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 6 })
  move(A.peerId, B.peerId, 6)
  await waitFor(
    'the restarted member to credit B',
    async () => (await books(member, B.peerId)).balance === expected.get(B.peerId)
  )
  await checkLedger(pick(live()))
})

test(
  'churn: kill -9 two of the five members of bank(A), two new nodes ' +
    'enter it; balances survive and transfers continue',
  async () => {
    const A = nodes[8]
    const oldBank = bankSet(A.peerId, ids(), K)
    const killed = [byId(oldBank[1]), byId(oldBank[3])]
    const key = bankKey(A.peerId)
    const fifth = kadIdOfPeer(oldBank[K - 1])
    await quiet()
    await Promise.all(killed.map(async d => await d.kill9()))
    // two newcomers whose ids are closer to bank(A)'s key than its old fifth member: they must enter it
    const newcomers: Daemon[] = []
    for (const name of ['newcomer1', 'newcomer2']) {
      const dir = join(swarm.dir, name)
      await identityWhere(dir, id => xorCompare(key, kadIdOfPeer(id), fifth) < 0)
      newcomers.push(
        new Daemon('node', dir, [
          '--broker',
          swarm.broker.addr,
          '--bootstrap',
          nodes[0].addr,
          '--owner-timeout-ms',
          '2000',
          '--retry-interval-ms',
          '1000',
          ...ARGS
        ])
      )
    }
    await Promise.all(newcomers.map(async d => await d.start()))
    nodes.push(...newcomers)
    swarm.nodes.push(...newcomers)
    const newBank = bankSet(A.peerId, ids(), K)
    assert.deepEqual(
      [...newBank].sort(),
      [...oldBank.filter(m => !killed.some(k => k.peerId === m)), ...newcomers.map(d => d.peerId)].sort()
    )
    await agreeOn([A.peerId])
    // the newcomers took A's state from the surviving majority of the old bank
    await waitFor(
      "newcomers to take over A's account",
      async () => {
        for (const d of newcomers) if ((await books(d, A.peerId))?.balance !== expected.get(A.peerId)) return false
        return true
      },
      90_000
    )
    const others = live().filter(d => d !== A && !newcomers.includes(d))
    for (const d of newcomers)
      assert.equal((await books(d, A.peerId)).nonce, (await balanceAt(others[0], A.peerId)).nonce)
    // every balance survived, the killed nodes' own accounts too (their banks kept a majority)
    await checkLedger(pick(live()))
    // and transfers continue, into and out of A
    const [B, C, reader] = others.slice(1)
    await A.api('POST', '/v1/karma/transfer', { to: B.peerId, amount: 5 })
    await C.api('POST', '/v1/karma/transfer', { to: A.peerId, amount: 7 })
    expected.set(A.peerId, expected.get(A.peerId)! - 5 + 7)
    expected.set(B.peerId, expected.get(B.peerId)! + 5)
    expected.set(C.peerId, expected.get(C.peerId)! - 7)
    const r = await balanceAt(reader, A.peerId)
    assert.equal(r.balance, expected.get(A.peerId))
    assert.deepEqual([...r.bank].sort(), [...newBank].sort())
    await checkLedger(pick(live()))
  }
)
