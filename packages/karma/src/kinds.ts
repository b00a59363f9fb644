// The transaction kinds Karma counts messages and signatures under (the survey's Table I rows).
export const KARMA_KINDS = ['karma-transfer', 'karma-join', 'karma-read', 'karma-churn', 'karma-epoch'] as const
export type KarmaKind = (typeof KARMA_KINDS)[number]

/** The kinds by what they count: a transfer's messages, joins, balance reads, hand-overs, epoch rounds. */
export const KIND = {
  transfer: 'karma-transfer',
  join: 'karma-join',
  read: 'karma-read',
  churn: 'karma-churn',
  epoch: 'karma-epoch'
} as const satisfies Record<string, KarmaKind>
