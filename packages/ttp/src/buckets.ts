// Every LevelDB bucket `p2pay ttp` keeps, bucket -> key -> value: the file
// market's disputes and the cheques waiting for their providers.
import { buckets } from '@p2pay/core'
import { DISPUTE_TABLES } from '@p2pay/fairex'

export const TTP_BUCKETS = buckets(DISPUTE_TABLES)
