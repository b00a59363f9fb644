// A double spend the broker finds while its judge is down, over real libp2p and LevelDB in one process (the
// broker's ledger service with its real group service, the judge's opener service): the caller is refused FRAUD
// at once, the case is on disk, pending; once the judge is back (same key, same address) the broker's own loop
// has it opened and convicts the cheater, once, with no second cheat. A case kept survives a broker restart.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  Metrics,
  Store,
  Verifier,
  createLogger,
  createP2payNode,
  nodeEd25519,
  signerFor,
  table,
  type Account,
  type Signer
} from '@p2pay/core'
import { rejectsCode } from '@p2pay/test-utils'
import type { WhopayKind } from '../src/kinds.ts'
import { groupPool } from '../src/core/group-pool.ts'
import { coinSigner, holderSigned, newCoinKey, signHolderEnvelope, type CoinKey } from '../src/core/holder.ts'
import { openCoinCert, openShown, signAnswer, signIssue } from '../src/core/coin.ts'
import { TAG, type HolderSigned, type HolderTag } from '../src/core/messages.ts'
import { GroupClient } from '../src/net/group-client.ts'
import { LedgerService } from '../src/net/ledger-service.ts'
import { deposit, downtimeTransfer } from '../src/net/ledger-coins.ts'
import { OpenerService } from '../src/net/opener-service.ts'

const backend = nodeEd25519()
const dir = mkdtempSync(join(tmpdir(), 'whopay-cases-'))
const pool = groupPool(1)
const quiet = (name: string) => createLogger(name, 'warn')

interface Peer {
  key: PrivateKey
  node: Libp2p
  store: Store
  signer: Signer<WhopayKind>
  verifier: Verifier<WhopayKind>
  metrics: Metrics
  id: string
  addr: string
}

async function peer(name: string, key?: PrivateKey, port = 0): Promise<Peer> {
  const k = key ?? (await generateKeyPair('Ed25519'))
  const node = await createP2payNode({ privateKey: k, listen: [`/ip4/127.0.0.1/tcp/${port}`], dht: false })
  const store = new Store(join(dir, name))
  await store.open()
  const metrics = new Metrics()
  const signer = signerFor(k, backend, metrics) as Signer<WhopayKind>
  const id = node.peerId.toString()
  return {
    key: k,
    node,
    store,
    signer,
    verifier: new Verifier(backend, metrics),
    metrics,
    id,
    addr: `${node.getMultiaddrs()[0]}`
  }
}

const components = (p: Peer, name: string) => ({
  network: p.node,
  store: p.store,
  signer: p.signer,
  verifier: p.verifier,
  metrics: p.metrics as never,
  logger: quiet(name)
})

async function stopPeer(p: Peer): Promise<void> {
  await p.node.stop()
  await p.store.close()
}

const party = (p: Peer) => ({ id: p.id, addr: p.addr })

let judge: Peer, broker: Peer, n1: Peer
let opener: OpenerService | undefined
let ledger: LedgerService | undefined
let gpk: Uint8Array, memberKey: Uint8Array
let port = 0

function startOpener(): OpenerService {
  return new OpenerService({ ...components(judge, 'judge'), broker: party(broker) } as never, { poolSize: 1 })
}

async function startLedger(): Promise<LedgerService> {
  const { accounts } = await broker.store.tables({ accounts: table<Account>('ppay-accounts', 'peer id -> balance') })
  const s = new LedgerService({ ...components(broker, 'broker'), accounts } as never, {
    judge: party(judge),
    coinTtlMs: 3600_000,
    realtime: false,
    keepers: 3,
    caseRetryMs: 100
  })
  await s.start()
  return s
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

/** A transfer request by the coin key at seq 0, group-signed by `memberKey`. */
async function request(key: CoinKey, gpk: Uint8Array, memberKey: Uint8Array, to: string): Promise<HolderSigned> {
  return await holderRequest(key, TAG.transfer, 0, { to }, gpk, memberKey)
}

async function holderRequest(
  key: CoinKey,
  tag: HolderTag,
  seq: number,
  dest: { to: string } | { purse: string },
  gpk: Uint8Array,
  memberKey: Uint8Array,
  coin = key.id
): Promise<HolderSigned> {
  const body = { coin, gen: 0, seq, ...dest, at: Date.now() }
  const { env, digest } = signHolderEnvelope(coinSigner(key, backend), tag, body, 'whopay-transfer')
  return holderSigned(env.bytes, await pool.sign(gpk, memberKey, digest))
}

const frauds = async (s: LedgerService): Promise<any> => await s.routes()['GET /frauds']({}, new URLSearchParams())

before(async () => {
  ;[judge, broker, n1] = await Promise.all(['judge', 'broker', 'n1'].map(async n => await peer(n)))
})
after(async () => {
  await ledger?.stop()
  await opener?.stop()
  await Promise.all([judge, broker, n1].filter(p => p != null).map(stopPeer))
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a double spend found while the judge is down', () => {
  it('is refused FRAUD, kept pending, and convicted once after the judge is back', async () => {
    opener = startOpener()
    await opener.start()
    ledger = await startLedger()
    const l = ledger.l
    await until('the group', () => l.group.gpk())
    const c1 = new GroupClient(
      { network: n1.node, store: n1.store, verifier: n1.verifier, logger: quiet('n1') },
      { broker: party(broker), judge: party(judge) }
    )
    await c1.start()
    ;({ gpk, memberKey } = (await c1.join())!)
    await c1.stop()

    // n1 holds a coin it bought (seq 0, its coin key) and transfers it twice through the broker
    const key = newCoinKey()
    await l.store.apply(() => l.c.accounts.set(n1.id, { balance: 10 }))
    const { cert } = await l.store.apply(() => l.ledger.purchase(n1.id, key.id, 5))
    const first = await downtimeTransfer(l, { cert, request: await request(key, gpk, memberKey, newCoinKey().id) }, 'x')
    assert.ok(first.binding)

    await opener.stop()
    opener = undefined
    port = Number(judge.addr.split('/tcp/')[1].split('/')[0])
    await stopPeer(judge)
    const second = { cert, request: await request(key, gpk, memberKey, newCoinKey().id) }
    const err = await rejectsCode(downtimeTransfer(l, second, 'x'), ErrorCode.FRAUD)
    assert.equal(err.details?.pending, true)
    const pending = await frauds(ledger)
    assert.deepEqual(pending.frauds, [], 'nobody convicted without the judge')
    assert.equal(pending.cases.length, 1)
    assert.equal(pending.cases[0].state, 'pending')
    assert.equal(pending.cases[0].coin, key.id)
    // the same cheat again while the judge is down: FRAUD again, still one case
    await rejectsCode(downtimeTransfer(l, second, 'x'), ErrorCode.FRAUD)
    assert.equal((await frauds(ledger)).cases.length, 1)

    // the case is on disk: a broker restarted while the judge is down still has it
    await ledger.stop()
    ledger = await startLedger()
    assert.equal((await frauds(ledger)).cases[0].state, 'pending')

    judge = await peer('judge', judge.key, port)
    opener = startOpener()
    await opener.start()
    const f = await until('the conviction', async () => (await frauds(ledger!)).frauds[0])
    assert.equal(f.cheater, n1.id)
    assert.equal(f.coin, key.id)
    const done = await until('the case convicted', async () => {
      const r = await frauds(ledger!)
      return r.cases[0].state === 'convicted' ? r : undefined
    })
    assert.equal(done.frauds.length, 1, 'convicted once')
    // the loop keeps running: nothing is convicted twice
    await new Promise(r => setTimeout(r, 300))
    assert.equal((await frauds(ledger)).frauds.length, 1)
    assert.ok((ledger.audit().whopay as { holds: boolean }).holds, 'conserved')
  })

  it('an honest deposit whose chain lost while the judge is down is paid once the case is convicted', async () => {
    const l = ledger!.l
    const key = newCoinKey()
    await l.store.apply(() => l.c.accounts.set(n1.id, { balance: 5 }))
    const { cert } = await l.store.apply(() => l.ledger.purchase(n1.id, key.id, 5))
    const coin = openCoinCert(l.c.verifier, cert, { broker: broker.id }, 'whopay-purchase')
    // the owner issues to h1; h1 transfers to h2 through the owner (the broker does not see it) and deposits itself
    const [h1, h2, cheatPurse, honestPurse] = [newCoinKey(), newCoinKey(), newCoinKey().id, newCoinKey().id]
    const issue = signIssue(n1.signer, coin, h1.id)
    const a = await holderRequest(h1, TAG.transfer, 1, { to: h2.id }, gpk, memberKey, key.id)
    const opened = openShown(
      l.c.verifier,
      { cert, binding: issue.b64, request: a },
      { broker: broker.id },
      TAG.transfer,
      'whopay-transfer'
    )
    const toH2 = signAnswer(n1.signer, 'owner', coin, opened.request, 'whopay-transfer')
    const b = await holderRequest(h1, TAG.deposit, 1, { purse: cheatPurse }, gpk, memberKey, key.id)
    await deposit(l, { cert, binding: issue.b64, request: b }, 'x')
    assert.equal(l.ledger.t.purses.get(cheatPurse)?.balance, 5)

    await opener!.stop()
    opener = undefined
    await stopPeer(judge)
    const honest = {
      cert,
      binding: toH2.b64,
      request: await holderRequest(h2, TAG.deposit, 2, { purse: honestPurse }, gpk, memberKey, key.id)
    }
    const err = await rejectsCode(deposit(l, honest, 'x'), ErrorCode.FRAUD)
    assert.equal(err.details?.pending, true)
    const kept = (await frauds(ledger!)).cases.find((k: any) => k.coin === key.id)
    assert.equal(kept.state, 'pending')
    assert.equal(kept.compensate, true)
    assert.equal(l.ledger.t.purses.get(honestPurse)?.balance ?? 0, 0, 'nothing paid before the conviction')

    judge = await peer('judge', judge.key, port)
    opener = startOpener()
    await opener.start()
    const f = await until('the conviction', async () =>
      (await frauds(ledger!)).frauds.find((x: any) => x.coin === key.id)
    )
    assert.equal(f.cheater, n1.id)
    assert.equal(l.ledger.t.purses.get(honestPurse)?.balance, 5, 'the honest holder paid from the cheat')
    assert.equal(l.ledger.t.purses.get(cheatPurse)?.balance, 0)
    // the same deposit again gets the compensation, not a second payment
    const again = await deposit(l, honest, 'x')
    assert.equal(again.from, 'compensation')
    await new Promise(r => setTimeout(r, 300))
    assert.equal(l.ledger.t.purses.get(honestPurse)?.balance, 5, 'paid once')
    assert.equal((await frauds(ledger!)).frauds.filter((x: any) => x.coin === key.id).length, 1)
    assert.ok((ledger!.audit().whopay as { holds: boolean }).holds, 'conserved')
  })
})
