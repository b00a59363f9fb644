// Every LevelDB bucket `p2pay judge` keeps, bucket -> key -> value: the file
// market's verdicts, ban records, and the voids the broker has yet to make;
// WhoPay's opener key and openings.
import { buckets } from '@p2pay/core'
import { JUDGMENT_TABLES } from '@p2pay/fairex'
import { OPENER_TABLES } from '@p2pay/whopay'

export const JUDGE_BUCKETS = buckets(
  JUDGMENT_TABLES, // the file market: verdicts, ban records, voids the broker has yet to make
  OPENER_TABLES // WhoPay: the opener key and its signed part, the openings of each case
)
