// AggSign's side of the fraud benchmark: the broker's pure Ledger with every
// peer certified (escrow topped up first), and the plan's coins minted and
// paid on layer by layer (the second chain of a double spend parts from the
// first at the plan's fork, signed by the holder before it).
import { memoryTables, nodeEd25519, signerFor, toB64, Table, type Account, type Signer } from '@p2pay/core'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  LEDGER_TABLES,
  Ledger,
  addLayer,
  mintCoin,
  proveKey,
  type AggsignKind,
  type CertInfo,
  type WireCoin
} from '@p2pay/aggsign'
import type { FreshBroker, Outcome, SchemeWorkload } from './aggsign-broker.ts'
import type { Plan } from './aggsign-plan.ts'
import { COIN_VALUE, HOUR_MS, T0, type BenchPeer } from './aggsign-peers.ts'

/** what each peer may mint, and what it holds besides: enough for every coin and every fraud it commits */
const LIMIT = 1_000_000

export interface AggChains {
  /** per coin, its first chain and its last holder's peer id */
  main: Array<{ coin: WireCoin; by: string }>
  /** per coin, the chain of its double spend */
  second: Array<{ coin: WireCoin; by: string }>
}

export async function aggWorld(
  plan: Plan,
  peers: BenchPeer[],
  alts: BenchPeer[]
): Promise<SchemeWorkload & { chains: AggChains; envelopes: Map<string, string>; samples: WireCoin[] }> {
  const broker = signerFor(await generateKeyPair('Ed25519'), nodeEd25519()) as Signer<AggsignKind>
  const everyone = [...peers, ...alts]
  const pops = everyone.map(p => toB64(proveKey(p.bls.secretKey, p.id)))
  const expiry = T0 + 24 * HOUR_MS

  /** Ed25519 is deterministic: every fresh ledger signs the very same certificates. */
  const ledger = (): Ledger => {
    const t = { ...memoryTables(LEDGER_TABLES), accounts: new Table<Account>('ppay-accounts') }
    const l = new Ledger(t, broker, {
      maxLayers: plan.maxDepth,
      maxCertTtlMs: 7 * 24 * HOUR_MS,
      cashGraceMs: HOUR_MS,
      now: () => T0
    })
    everyone.forEach((p, i) => {
      t.accounts.set(p.id, { balance: 2 * LIMIT })
      l.certify(p.id, toB64(p.bls.publicKey), pops[i], LIMIT, expiry)
    })
    return l
  }
  const first = ledger()
  const certOf = new Map<string, CertInfo>()
  /** certificate hash -> its envelope (base64), as a payer sends it along */
  const envelopes = new Map<string, string>()
  for (const r of first.t.certs.values()) {
    certOf.set(r.peer, first.lookup(r.hash)!)
    envelopes.set(r.hash, r.cert)
  }
  const cert = (p: BenchPeer): CertInfo => certOf.get(p.id)!

  const serials = new Map<string, number>()
  /** a coin minted by holders[0] and paid along the rest: the coin after each payment, [0] the unpaid one */
  const paidAlong = (holders: BenchPeer[]): WireCoin[] => {
    const serial = serials.get(holders[0].id) ?? 0
    serials.set(holders[0].id, serial + 1)
    const mint = { cert: cert(holders[0]).hash, serial, value: COIN_VALUE, expiry: T0 + HOUR_MS }
    const steps = [mintCoin(holders[0].bls.secretKey, mint)]
    for (let k = 1; k < holders.length; k++)
      steps.push(addLayer(steps[k - 1], holders[k - 1].bls.secretKey, cert(holders[k]), plan.maxDepth))
    return steps
  }
  const main: AggChains['main'] = []
  const second: AggChains['second'] = []
  for (const c of plan.coins) {
    const holders = c.path.map(i => peers[i])
    const steps = paidAlong(holders)
    main.push({ coin: steps[c.depth], by: holders[c.depth].id })
    // the holder at fork-1 pays the same coin again, to the alternate peers
    let other = steps[c.fork - 1]
    let payer = holders[c.fork - 1]
    for (const a of c.alt) {
      other = addLayer(other, payer.bls.secretKey, cert(alts[a]), plan.maxDepth)
      payer = alts[a]
    }
    second.push({ coin: other, by: payer.id })
  }
  /** for the wire sizes: a coin paid 1..maxDepth times, each time to a peer that held it not before */
  const samples = paidAlong(peers.slice(0, plan.maxDepth + 1)).slice(1)

  const fresh = (): FreshBroker => {
    const l = ledger()
    let verified = 0
    const total = 2 * LIMIT * everyone.length
    return {
      cash(i, isSecond): Outcome {
        const { coin, by } = (isSecond ? second : main)[i]
        try {
          const r = l.cash(coin, by)
          verified += r.counts.verified
          return r.status === 'paid' ? r.from : 'convicted'
        } catch {
          return 'refused'
        }
      },
      verified: () => verified,
      holds: () => {
        const a = l.audit()
        return a.holds && a.balances + a.custody === total
      },
      frauds: () => l.t.frauds.size
    }
  }
  return { name: 'aggsign', fresh, chains: { main, second }, envelopes, samples }
}
