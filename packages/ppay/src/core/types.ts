// PPay wire objects. Every signed body names its signer's counterpart and a
// serial/sequence, so no signature can be replayed in another context.

/** Domain tags of the signed objects. */
export const TAG = {
  coin: 'p2pay/ppay/coin/v1',
  assign: 'p2pay/ppay/assign/v1',
  downtimeAssign: 'p2pay/ppay/downtime-assign/v1',
  request: 'p2pay/ppay/reassign-request/v1',
  layer: 'p2pay/ppay/layer/v1',
  cash: 'p2pay/ppay/cash/v1',
  buy: 'p2pay/ppay/buy/v1'
} as const

export const PROTOCOL = {
  /** payer/owner -> payee: deliver a coin proof */
  pay: '/p2pay/ppay/pay/1.0.0',
  /** holder -> owner: reassignment request */
  reassign: '/p2pay/ppay/reassign/1.0.0',
  /** node -> broker: buy, cash, refund, downtime reassignment, log sync, evidence */
  broker: '/p2pay/ppay/broker/1.0.0'
} as const

/** Sig_B(owner, sn, value, expiry): a raw coin sold by the broker. */
export interface CoinBody {
  broker: string
  owner: string
  sn: string
  value: number
  expiry: number
}

/**
 * Sig_X(holder, seq, C) by the owner, or by the broker for an offline owner
 * (downtime). `request` is the hash of the holder's request that justifies a
 * reassignment (seq > 1); seq 1 is the owner's own payment and has none.
 */
export interface AssignBody {
  sn: string
  coin: string
  owner: string
  seq: number
  holder: string
  request: string | null
}

/** Sig_Y(Z, assignment_Y): the holder of `prev` (at `seq`) asks the owner to reassign to `to`. */
export interface RequestBody {
  sn: string
  owner: string
  seq: number
  from: string
  to: string
  prev: string
}

/** A layer added by a holder instead of asking the owner; `prev` is the hash of the link below. */
export interface LayerBody {
  sn: string
  seq: number
  depth: number
  from: string
  to: string
  prev: string
}

/** The final holder gives its position to the broker; seq 0 is the owner's refund of an unassigned coin. */
export interface CashBody {
  sn: string
  seq: number
  depth: number
  holder: string
  broker: string
  prev: string
}

/** Signed by the account holder; `nonce` makes a retried purchase idempotent. */
export interface BuyBody {
  broker: string
  account: string
  count: number
  value: number
  nonce: string
}

/** One step of a coin's history: the assignment for seq i+1 and, from seq 2 on, the request that justifies it. */
export interface ChainLink {
  assign: string
  request?: string
}

/**
 * What a holder carries and presents: the coin, its whole assignment history
 * from seq 1 (so nobody, the owner included, can skip or invent a step) and
 * any layers on top. Envelopes as base64.
 */
export interface CoinProof {
  coin: string
  chain?: ChainLink[]
  layers?: string[]
}

/** Longest assignment history a proof may carry (it bounds proof size: ~0.6 KiB a step). */
export const MAX_CHAIN = 64

/** Position of a holding: owner's assignment sequence and layer depth on top of it. */
export interface Position {
  seq: number
  depth: number
}
export const posKey = (p: Position): string => `${p.seq}.${p.depth}`

/** A holder giving its position away: to a payee (request, layer, first assignment) or to the broker (cash). */
export interface Transfer {
  pos: string
  signer: string
  to: string
  hash: string
  /** base64 envelope: the evidence */
  bytes: string
  kind: 'assign' | 'request' | 'layer' | 'cash'
}

export const BROKER_SINK = 'broker'

/** Fraud kinds, named after who broke the rules and how. */
export type FraudKind = 'owner-double-assign' | 'holder-double-spend' | 'holder-cash-after-spend'

export interface FraudProof {
  id: string
  kind: FraudKind
  culprit: string
  sn: string
  /** the position given away twice (`seq.depth`) */
  pos: string
  /** the two conflicting envelopes, each signed by the culprit (base64) */
  evidence: [string, string]
  detectedAt: number
  /** value moved from the culprit to honest holders because of it */
  compensated: Array<{ holder: string; value: number }>
  /** what honest holders could not be paid because the culprit's account ran dry */
  unpaid: Array<{ holder: string; value: number }>
}
