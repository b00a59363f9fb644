// Karma's LevelDB tables, bucket by bucket (key -> value). The bucket names
// are those of earlier releases, so existing data dirs open unchanged.
import { table, type TablesOf } from '@p2pay/core'
import type { SentRow, ReceivedRow, WalletRow } from '../core/account.ts'
import type { EpochState } from '../core/epoch.ts'
import type { AccountRow, CaughtRow, CreditRow, DebitRow, OutboxRow } from '../core/member-records.ts'

/** A bank member's books (core/member.ts): the accounts it banks for, its debits, its credits, its epoch. */
export const MEMBER_TABLES = {
  accounts: table<AccountRow>(
    'karma-accounts',
    'account -> balance, rescale remainder, last nonce and request, join and activity, in this member'
  ),
  pending: table<DebitRow>(
    'karma-pending',
    'request hash -> a debit applied here: the request, its notice and receipt'
  ),
  credits: table<CreditRow>('karma-credits', 'request hash -> the notices of bank(A) counted for it, or its credit'),
  meta: table<EpochState>('karma-meta', '"epoch" -> the epoch this member is in and the factor that led into it')
}

/** Beside the books: notices owed to bank(B), liars caught, and the account holder's own transfers. */
export const SERVICE_TABLES = {
  outbox: table<OutboxRow>('karma-outbox', 'request hash -> a debit notice not yet taken by every member of bank(B)'),
  caught: table<CaughtRow>('karma-caught', 'member|reason -> the latest signed evidence of a member that lied'),
  sent: table<SentRow>('karma-sent', "request hash -> one of this account's own transfers: pending or done"),
  received: table<ReceivedRow>('karma-received', 'request hash -> a transfer to this account, with both majorities'),
  wallet: table<WalletRow>(
    'karma-wallet',
    '"self" -> the nonce of this account\'s last transfer, and whether it joined'
  )
}

export const KARMA_TABLES = { ...MEMBER_TABLES, ...SERVICE_TABLES }

export type ServiceTables = TablesOf<typeof SERVICE_TABLES>
