// Every LevelDB bucket `p2pay judge` keeps, bucket -> key -> value: the file
// market's verdicts, ban records, and the voids the broker has yet to make.
import { buckets } from '@p2pay/core'
import { JUDGMENT_TABLES } from '@p2pay/fairex'

export const JUDGE_BUCKETS = buckets(JUDGMENT_TABLES)
