// What the parts of the broker's WhoPay service share: the core Ledger over its
// tables, the store, the group (its public key to check holder requests, the
// judge's openings through the registry), the coin-state client, the settings;
// and the check every holder request goes through before the ledger sees it:
// the Ed25519 parts against the bytes received, then its group signature in
// the worker pool.
import {
  ErrorCode,
  fail,
  type Account,
  type BaseComponents,
  type Lifecycle,
  type Logger,
  type Party,
  type Store,
  type Table
} from '@p2pay/core'
import { openShown, type ShownCoin, type ShownInput } from '../core/coin.ts'
import type { GroupCrypto } from '../core/group-pool.ts'
import type { Ledger } from '../core/ledger.ts'
import type { HolderTag } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import type { CoinStateClient } from './coin-state-client.ts'
import type { FraudCase } from './ledger-cases.ts'

export interface LedgerInit {
  /** the judge that holds the opening key; WhoPay refuses every call without one */
  judge?: Party
  /** a certificate's lifetime, at purchase and at each renewal */
  coinTtlMs: number
  /** check and publish coin states in the DHT */
  realtime: boolean
  /** peers that keep each coin's state */
  keepers: number
  now?: () => number
  /** how often pending fraud cases are asked of the judge again (default 5 s) */
  caseRetryMs?: number
}

export interface LedgerComponents extends BaseComponents<WhopayKind> {
  /** the broker's accounts (PPay's ledger keeps them): purchases debit them, withdrawals and frauds move money */
  accounts: Table<Account>
}

/** The group as the ledger uses it (the group service's broker side). */
export interface LedgerGroup {
  /** the group public key, encoded (undefined until the group is set up) */
  gpk(): Uint8Array | undefined
  /**
   * has the judge open both signatures of evidence: the peers the registry names for them (one, or two when a coin
   * key was shared between members), the member ids and the openings
   */
  open(evidence: unknown): Promise<{ cheaters: string[]; members: string[]; openings: string[] }>
}

export interface LedgerContext {
  ledger: Ledger
  store: Store
  c: LedgerComponents
  init: LedgerInit
  log: Logger
  life: Lifecycle
  crypto: GroupCrypto
  group: LedgerGroup
  states: CoinStateClient
  /** holder double spends found, kept until the judge opens them (or refuses) */
  cases: Table<FraudCase>
}

/** Refuses every WhoPay call of a broker started without --whopay-judge. */
export function needJudge(l: LedgerContext): void {
  if (l.init.judge == null)
    fail(ErrorCode.BAD_REQUEST, 'this broker runs WhoPay without a judge: start it with --whopay-judge <multiaddr>')
}

/** The group key, or UNREACHABLE while the group is not set up (the judge not reached yet). */
export function gpkOf(l: LedgerContext): Uint8Array {
  const gpk = l.group.gpk()
  if (gpk == null) fail(ErrorCode.UNREACHABLE, 'the WhoPay group is not set up yet (the judge has not been reached)')
  return gpk
}

/** Verifies group signatures in the pool, each counted under `kind`; BAD_GROUP_SIGNATURE for one that fails. */
export async function verifyGroups(
  l: LedgerContext,
  checks: ReadonlyArray<{ digest: Uint8Array; sig: Uint8Array }>,
  kind: WhopayKind
): Promise<void> {
  const gpk = gpkOf(l)
  const ok = await Promise.all(
    checks.map(async g => {
      l.c.metrics.verified(kind)
      return await l.crypto.verify(gpk, g.digest, g.sig)
    })
  )
  if (ok.includes(false)) fail(WhopayErrorCode.BAD_GROUP_SIGNATURE, 'a group signature does not verify')
}

/** What a holder shows with a request, checked in full (its group signature last, off the event loop). */
export async function showCoin(
  l: LedgerContext,
  args: Partial<ShownInput>,
  tags: HolderTag | readonly HolderTag[],
  kind: WhopayKind
): Promise<ShownCoin> {
  needJudge(l)
  const input: ShownInput = { cert: args.cert, binding: args.binding, request: args.request }
  const s = openShown(l.c.verifier, input, { broker: l.ledger.broker }, tags, kind)
  await verifyGroups(l, s.groups, kind)
  return s
}
