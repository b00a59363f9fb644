// The generated workload both schemes' brokers cash in the fraud benchmark:
// which peers hold each coin in turn, and which coins are double spent, where.
// Seeded, so one seed gives the same coins, depths and frauds every run; the
// frauds at a rate are the coins ranked first in a seeded order, so the coins
// double spent at 5 % are among those double spent at 10 %.

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface CoinPlan {
  /** peer indices: [0] mints (AggSign) or owns (PPay) the coin, [k] holds it after payment k */
  path: number[]
  /** payments made with it (1..maxDepth): AggSign layers; in PPay the owner's assignment, then layers */
  depth: number
  /** the coin's place in the fraud order: double spent at rate r when rank < round(r * coins) */
  rank: number
  /** the payment the holder before it makes twice (1..depth), when double spent */
  fork: number
  /** indices into the alternate peers: the second chain's holders from payment `fork` on */
  alt: number[]
}

export interface Plan {
  seed: number
  coins: CoinPlan[]
  /** peers on the first chains */
  peers: number
  /** peers that only receive second chains, so no honest holder ever signs two chains of one coin */
  altPeers: number
  maxDepth: number
}

/** A holder other than `prev`, from `n` peers. */
const next = (r: () => number, n: number, prev: number): number => {
  const i = Math.floor(r() * (n - 1))
  return i >= prev ? i + 1 : i
}

export function makePlan(seed: number, coins: number, peers = 12, altPeers = 4, maxDepth = 8): Plan {
  const r = rng(seed)
  const out: CoinPlan[] = []
  for (let i = 0; i < coins; i++) {
    const depth = 1 + Math.floor(r() * maxDepth)
    const path = [Math.floor(r() * peers)]
    for (let k = 1; k <= depth; k++) path.push(next(r, peers, path[k - 1]))
    const fork = 1 + Math.floor(r() * depth)
    const alt = [Math.floor(r() * altPeers)]
    for (let k = fork + 1; k <= depth; k++) alt.push(next(r, altPeers, alt[alt.length - 1]))
    out.push({ path, depth, rank: 0, fork, alt })
  }
  // a seeded shuffle fixes the fraud order
  const order = out.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  order.forEach((c, rank) => (out[c].rank = rank))
  return { seed, coins: out, peers, altPeers, maxDepth }
}

/** Whether coin `c` is double spent at fraud rate `rate` (0..1) of plan `p`. */
export const doubleSpent = (p: Plan, c: CoinPlan, rate: number): boolean => c.rank < Math.round(rate * p.coins.length)
