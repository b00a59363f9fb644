// What the fraud benchmark asks of either scheme's broker: a fresh pure
// ledger with the workload's coins issued and nothing cashed, whose cash calls
// are timed one chain at a time.

/** How a cashing ended: paid from the coin, paid from a cheater, or refused. */
export type Outcome = 'coin' | 'compensation' | 'convicted' | 'refused'

export interface FreshBroker {
  /** cashes coin i's first chain (`second` false) or its double spend's chain */
  cash: (coin: number, second: boolean) => Outcome
  /** signature verifications the broker made so far (an aggregate verification counts as one) */
  verified: () => number
  /** conservation and the ledger's own books hold */
  holds: () => boolean
  /** fraud records on file */
  frauds: () => number
}

export interface SchemeWorkload {
  name: 'aggsign' | 'ppay-layered'
  fresh: () => FreshBroker
}
