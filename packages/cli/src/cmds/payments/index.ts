// `p2pay payments`, `p2pay request`, `p2pay pay <request>`: the payments journal and payment requests.
import type { Command } from '../../command.ts'
import { pay } from './pay.ts'
import { payments } from './payments.ts'
import { request } from './request.ts'

export { withPaymentIds } from './journaled.ts'

export const PAYMENTS: Command[] = [payments, request, pay]
