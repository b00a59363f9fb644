// The payments journal's one table, in every daemon registry that journals payments (the node's).
import { table } from '../store/tables.ts'
import type { PaymentEntry } from './types.ts'

export const PAYMENT_TABLES = {
  journal: table<PaymentEntry>(
    'payments-journal',
    'payment id -> scheme, op, peer, amount, state (pending|succeeded|failed|expired), reason, deadline, result'
  )
}
