// The rows a PPay wallet keeps, its configuration, and the pure helpers its
// callers share (holding keys, the exact-amount pick).
import type { Opened, Signer, Table } from '@p2pay/core'
import type { CoinProof } from './types.ts'

export interface OwnedCoin {
  sn: string
  coin: string
  value: number
  expiry: number
  /** 0 = never assigned */
  seq: number
  holder: string
  assign: string | null
  assignHash: string | null
  /** set once the owner asked the broker to refund it */
  refund?: string
  /** the broker's answer to the refund */
  refunded?: 'paid' | 'refused'
}

export interface TrailEntry {
  sn: string
  seq: number
  holder: string
  assign: string
  request: string | null
  by: 'owner' | 'broker'
  at: number
  /** the journaled payment that signed it: what settles that payment after a crash */
  payment?: string
}

export type HoldingStatus = 'held' | 'spending' | 'spent' | 'cashing' | 'cashed' | 'refused'
export interface Holding {
  key: string
  sn: string
  owner: string
  value: number
  expiry: number
  seq: number
  depth: number
  from: string
  proof: CoinProof
  status: HoldingStatus
  /** the signed request or layer that gives it away: kept so a retry sends the same bytes */
  request?: { to: string; bytes: string }
  layer?: { to: string; bytes: string }
  cash?: string
  result?: unknown
  at: number
  /** the journaled payment whose request or layer gives it away (kept once spent) */
  payment?: string
}

export interface Delivery {
  id: string
  to: string
  toAddrs: string[]
  proof: CoinProof
  sn: string
  value: number
  at: number
  attempts: number
  lastError?: unknown
}

export interface WalletTables {
  owned: Table<OwnedCoin>
  trail: Table<TrailEntry>
  held: Table<Holding>
  outbox: Table<Delivery>
  pendingBuys: Table<{ nonce: string; buy: string; at: number }>
  meta: Table<{ downtimeCursor: number }>
}

export interface WalletConfig {
  broker: string
  maxLayers: number
  now: () => number
}

/** sequence numbers in keys, padded so that keys sort in sequence order */
export const pad = (n: number): string => String(n).padStart(12, '0')
export const SPEND_MARGIN_MS = 60_000
export const holdingKey = (i: { sn: string; seq: number; depth: number }): string => `${i.sn}|${pad(i.seq)}.${i.depth}`

/**
 * Picks coins whose values add up to exactly `amount`: largest first, then a
 * bounded subset search so that e.g. 6 from {5,3,3} is found.
 */
export function pickExact<T extends { value: number }>(coins: T[], amount: number, limit = 64): T[] | null {
  const sorted = [...coins].sort((a, b) => b.value - a.value).slice(0, 4096)
  const picked: T[] = []
  let left = amount
  for (const c of sorted) {
    if (c.value <= left) {
      picked.push(c)
      left -= c.value
    }
    if (left === 0) return picked
  }
  const pool = sorted.slice(0, limit)
  const best = new Map<number, number[]>([[0, []]])
  for (let i = 0; i < pool.length; i++) {
    for (const [sum, idx] of [...best]) {
      const s = sum + pool[i].value
      if (s <= amount && !best.has(s)) best.set(s, [...idx, i])
    }
    if (best.has(amount)) return best.get(amount)!.map(i => pool[i])
    if (best.size > 100_000) break // bounded work for huge amounts; greedy already failed
  }
  return null
}

/** Signs bodies under one tag: a single envelope for one, one batch signature for more. */
export function signAll<T>(signer: Signer, tag: string, bodies: T[], kind: string): Array<Opened<T>> {
  return bodies.length === 1 ? [signer.sign<T>(tag, bodies[0], kind)] : signer.signBatch<T>(tag, bodies, kind)
}

/** An owner's answer to one reassignment request: the extended proof, and the holder it now names. */
export interface Reassigned {
  proof: CoinProof
  replay: boolean
  /** the new holder, as the assignment says (so its caller need not open the assignment again) */
  to: string
}
