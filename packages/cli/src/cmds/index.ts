// Every command of the `p2pay` CLI: the shared verbs at the top, then one group per daemon and per scheme.
import { COMMON as SHARED } from './common/index.ts'
import { broker } from './broker/index.ts'
import { ttp } from './ttp/index.ts'
import { judge } from './judge/index.ts'
import { node } from './node/index.ts'
import { ppay } from './ppay/index.ts'
import { fairex } from './fairex/index.ts'
import { karma } from './karma/index.ts'
import { aggsign } from './aggsign/index.ts'
import { whopay } from './whopay/index.ts'
import type { Group } from './group.ts'
import { PAYMENTS, withPaymentIds } from './payments/index.ts'

export const DAEMONS: Group[] = [broker, ttp, judge, node]
export const SCHEMES: Group[] = [ppay, fairex, karma, aggsign, whopay].map(withPaymentIds)
export const COMMON = [...SHARED, ...PAYMENTS]
