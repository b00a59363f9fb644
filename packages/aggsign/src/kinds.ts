// The transaction kinds AggSign counts messages and signatures under (the
// survey's Table I rows), prefixed like Karma's and the file market's so a node
// that also hosts PPay keeps the two schemes' `pay` and `cash` apart.
export const AGGSIGN_KINDS = [
  'aggsign-certify',
  'aggsign-mint',
  'aggsign-pay',
  'aggsign-cash',
  'aggsign-renew'
] as const
export type AggsignKind = (typeof AGGSIGN_KINDS)[number]
