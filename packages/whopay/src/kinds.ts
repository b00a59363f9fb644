// The transaction kinds WhoPay counts messages and signatures under (the survey's Table I rows), prefixed so a node
// that also hosts PPay or AggSign keeps each scheme's rows apart.
export const WHOPAY_KINDS = [
  'whopay-join',
  'whopay-purchase',
  'whopay-issue',
  'whopay-transfer',
  'whopay-invoice',
  'whopay-deliver',
  'whopay-deposit',
  'whopay-renew',
  'whopay-open'
] as const
export type WhopayKind = (typeof WHOPAY_KINDS)[number]
