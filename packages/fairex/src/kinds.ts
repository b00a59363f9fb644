// The transaction kinds the file market counts messages and signatures under (the survey's Table I rows).
export const FAIREX_KINDS = [
  'fairex-manifest',
  'fairex-catalog',
  'fairex-cert',
  'fairex-request',
  'fairex-reserve',
  'fairex-sale',
  'fairex-cheque',
  'fairex-deposit',
  'fairex-dispute',
  'fairex-judge',
  'fairex-verdict',
  'fairex-void',
  'fairex-ban'
] as const
export type FairexKind = (typeof FAIREX_KINDS)[number]
