// PPay's side of the fraud benchmark, on layered coins: the broker's pure
// Ledger sells each coin to the plan's first peer, whose assignment is
// payment 1; every later payment is a layer signed by the holder before it.
// The second chain of a double spend reuses the first chain's envelopes up to
// the fork. The broker keeps a verified-envelope cache as its daemon does
// (coins it signed itself are in it), so a second chain costs only the
// envelopes it does not share with the first.
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  Table,
  VerifiedCache,
  Verifier,
  fromB64,
  memoryTables,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  type Ed25519Backend,
  type Signer
} from '@p2pay/core'
import {
  LEDGER_TABLES,
  Ledger,
  TAG,
  type AssignBody,
  type BuyBody,
  type CashBody,
  type CoinProof,
  type LayerBody,
  type LedgerTables,
  verifyCoin
} from '@p2pay/ppay'
import type { FreshBroker, Outcome, SchemeWorkload } from './aggsign-broker.ts'
import type { Plan } from './aggsign-plan.ts'
import { COIN_VALUE, HOUR_MS, T0, type BenchPeer } from './aggsign-peers.ts'

/** topped up per peer: every coin it buys and every fraud it pays for */
const FUNDS = 1_000_000

export interface PPayChains {
  main: Array<{ proof: CoinProof; cash: string }>
  second: Array<{ proof: CoinProof; cash: string }>
}

const counting = (b: Ed25519Backend, seen: { n: number }): Ed25519Backend => ({
  name: b.name,
  sign: (seed, msg) => b.sign(seed, msg),
  verify: (pk, msg, sig) => {
    seen.n++
    return b.verify(pk, msg, sig)
  }
})

const envelope = <T>(who: Signer, tag: string, body: T): { b64: string; hash: string } => {
  const e = who.sign<T>(tag, body, 'pay')
  return { b64: toB64(e.bytes), hash: e.hash }
}

/** The proof of a coin paid from `holders[0]` along `holders`, with its last holder's cash request. */
function chainOf(
  coin: { b64: string; hash: string; sn: string },
  holders: BenchPeer[],
  broker: string,
  reuse?: { proof: CoinProof; upTo: number }
): { proof: CoinProof; cash: string } {
  const owner = holders[0]
  const assign =
    reuse != null && reuse.upTo >= 1
      ? reuse.proof.chain![0].assign
      : envelope<AssignBody>(owner.signer, TAG.assign, {
          sn: coin.sn,
          coin: coin.hash,
          owner: owner.id,
          seq: 1,
          holder: holders[1].id,
          request: null
        }).b64
  let tip = sha256Hex(fromB64(assign))
  const layers: string[] = []
  for (let k = 2; k < holders.length; k++) {
    const l =
      reuse != null && reuse.upTo >= k
        ? reuse.proof.layers![k - 2]
        : envelope<LayerBody>(holders[k - 1].signer, TAG.layer, {
            sn: coin.sn,
            seq: 1,
            depth: k - 1,
            from: holders[k - 1].id,
            to: holders[k].id,
            prev: tip
          }).b64
    layers.push(l)
    tip = sha256Hex(fromB64(l))
  }
  const last = holders[holders.length - 1]
  const cash = envelope<CashBody>(last.signer, TAG.cash, {
    sn: coin.sn,
    seq: 1,
    depth: layers.length,
    holder: last.id,
    broker,
    prev: tip
  }).b64
  return { proof: { coin: coin.b64, chain: [{ assign }], ...(layers.length > 0 ? { layers } : {}) }, cash }
}

export async function ppayWorld(
  plan: Plan,
  peers: BenchPeer[],
  alts: BenchPeer[]
): Promise<SchemeWorkload & { chains: PPayChains; samples: CoinProof[] }> {
  const backend = nodeEd25519()
  const broker = signerFor(await generateKeyPair('Ed25519'), backend)
  const cfg = {
    coinTtlMs: HOUR_MS,
    cashGraceMs: HOUR_MS,
    maxLayers: plan.maxDepth,
    maxCoinsPerBuy: 1000,
    now: () => T0
  }
  const builder = new Verifier(backend)
  const template = new Ledger(memoryTables(LEDGER_TABLES), broker, builder, cfg)
  for (const p of [...peers, ...alts]) template.topup(p.id, FUNDS)

  const buy = (owner: BenchPeer, count: number): Array<{ b64: string; hash: string; sn: string }> => {
    const req = envelope<BuyBody>(owner.signer, TAG.buy, {
      broker: broker.peerId,
      account: owner.id,
      count,
      value: COIN_VALUE,
      nonce: randomId(8)
    })
    return template.buy(req.b64).coins.map(b64 => {
      const opened = verifyCoin(builder, b64, broker.peerId, 'buy')
      return { b64, hash: opened.hash, sn: opened.body.sn }
    })
  }
  // each owner buys its coins in one request; coin i gets the next of its owner's
  const owned = new Map<number, number[]>()
  plan.coins.forEach((c, i) => owned.set(c.path[0], [...(owned.get(c.path[0]) ?? []), i]))
  const coins: Array<{ b64: string; hash: string; sn: string }> = []
  for (const [owner, list] of owned) buy(peers[owner], list.length).forEach((c, j) => (coins[list[j]] = c))
  /** for the wire sizes: a coin paid 1..maxDepth times, each time to a peer that held it not before */
  const samples = buy(peers[0], plan.maxDepth).map((c, d) => chainOf(c, peers.slice(0, d + 2), broker.peerId).proof)

  const main: PPayChains['main'] = []
  const second: PPayChains['second'] = []
  plan.coins.forEach((c, i) => {
    const holders = c.path.map(k => peers[k])
    const first = chainOf(coins[i], holders, broker.peerId)
    main.push(first)
    const other = [...holders.slice(0, c.fork), ...c.alt.map(a => alts[a])]
    second.push(chainOf(coins[i], other, broker.peerId, { proof: first.proof, upTo: c.fork - 1 }))
  })

  const copy = (name: keyof LedgerTables, into: LedgerTables): void => {
    const from = template.t[name] as Table<any>
    for (const [k, v] of from.map) (into[name] as Table<any>).set(k, v)
  }
  const fresh = (): FreshBroker => {
    const seen = { n: 0 }
    const cache = new VerifiedCache()
    for (const c of coins) cache.add(c.hash)
    const t = memoryTables(LEDGER_TABLES)
    for (const name of ['accounts', 'coins', 'meta'] as const) copy(name, t)
    const l = new Ledger(t, broker, new Verifier(counting(backend, seen), undefined, cache), cfg)
    return {
      cash(i, isSecond): Outcome {
        const { proof, cash } = (isSecond ? second : main)[i]
        try {
          const r = l.cash(proof, cash)
          return r.status === 'paid' ? r.from : 'refused'
        } catch {
          return 'refused'
        }
      },
      verified: () => seen.n,
      holds: () => l.audit().holds,
      frauds: () => l.t.frauds.size
    }
  }
  return { name: 'ppay-layered', fresh, chains: { main, second }, samples }
}
