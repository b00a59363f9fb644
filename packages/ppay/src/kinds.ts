// The transaction kinds PPay counts messages and signatures under (the survey's Table I rows).
export const PPAY_KINDS = ['buy', 'pay', 'reassign', 'downtime', 'layer', 'cash', 'refund', 'sync', 'balance'] as const
export type PPayKind = (typeof PPAY_KINDS)[number]
