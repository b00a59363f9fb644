// What the parts of a node's WhoPay service share: its tables (coins owned,
// held, invoiced, transactions pending, the purse), the store, the group
// (member key, worker pool), the coin-state client, the clients this node uses
// under its long-term identity (to the broker as owner or purse holder, to a
// payee as owner), and the settings. Holder calls never go through these
// clients: they go through a fresh identity (anon-dial.ts).
import {
  ClientPool,
  ErrorCode,
  P2payError,
  fromB64,
  nodeEd25519,
  type BaseComponents,
  type Lifecycle,
  type Logger,
  type Party,
  type Store,
  type TablesOf
} from '@p2pay/core'
import { coinSigner } from '../core/holder.ts'
import type { GroupCrypto } from '../core/group-pool.ts'
import { signHolderEnvelope, holderSigned, type HolderEnvelope } from '../core/holder.ts'
import type { OwnerBook } from '../core/owner.ts'
import type { Wallet } from '../core/wallet.ts'
import type { HolderBody, HolderSigned, HolderTag } from '../core/messages.ts'
import type { WhopayKind } from '../kinds.ts'
import { withFreshIdentity, type AnonNode } from './anon-dial.ts'
import type { CoinStateClient } from './coin-state-client.ts'
import type { GroupClient } from './group-client.ts'
import type { WALLET_NET_TABLES } from './tables.ts'

export interface WalletInit {
  /** the judge whose signed opener part the broker's group must carry */
  judge?: Party
  /** check and publish coin states in the DHT */
  realtime: boolean
  /** peers that keep each coin's state */
  keepers: number
  /** how long an owner, the broker or a payee has to answer before the next step (the broker, a retry) */
  payTimeoutMs: number
  /** how often transactions not acknowledged are sent again */
  retryIntervalMs: number
  /** held coins expiring within this are renewed by the retry loop (none when absent) */
  renewBeforeMs?: number
  now?: () => number
}

export interface WalletComponents extends BaseComponents<WhopayKind> {
  /** the broker: sells coins, keeps the group and the registry, takes deposits */
  broker: Party
}

export interface WalletContext {
  /** the coins this node bought: who holds each at which seq, every binding it signed */
  owner: OwnerBook
  /** the keys it invoiced, the coins it holds, its purse key */
  wallet: Wallet
  /** transactions in flight, owned coins it deposited itself, coin states it keeps */
  t: TablesOf<typeof WALLET_NET_TABLES>
  store: Store
  c: WalletComponents
  init: WalletInit
  log: Logger
  life: Lifecycle
  crypto: GroupCrypto
  group: GroupClient
  states: CoinStateClient
  /** this node's long-term peer id */
  me: string
  /** node -> broker, long-term identity (purchase, sync, withdraw, report) */
  broker: ClientPool<WhopayKind>
  /** owner -> payee, long-term identity (the issue of an owned coin) */
  payees: ClientPool<WhopayKind>
  /** coins (by spending key) a payment in this process has picked: no other payment picks them meanwhile */
  busy: Set<string>
}

/**
 * Kinds counted apart from Table I's transaction rows: coin-state messages and checks, an owner's sync, and the
 * answers of owners and payees (a transaction's own messages are its request and its delivery).
 */
export const SIDE_KINDS = ['whopay-state', 'whopay-sync', 'whopay-ack'] as const
/** typed as a kind: the counters take any name, Table I's rows are WHOPAY_KINDS */
export const SYNC_KIND = 'whopay-sync' as WhopayKind
export const ACK_KIND = 'whopay-ack'

/** Coin and purse keys sign through the OpenSSL backend; their signatures count like every other. */
export const backend = nodeEd25519()

/**
 * A holder request: the envelope signed with the holding key (`seed`, base64) and the member's group signature
 * over it (worker pool), each counted under `kind`.
 */
export async function signHolder(
  w: WalletContext,
  seed: string,
  tag: HolderTag,
  body: HolderBody,
  kind: WhopayKind
): Promise<HolderSigned> {
  const signer = coinSigner(fromB64(seed), backend, w.c.metrics)
  return await groupSigned(w, signHolderEnvelope(signer, tag, body, kind), kind)
}

/** A request signed with a held coin's key (the wallet's), then group-signed. */
export async function signHeld(
  w: WalletContext,
  key: string,
  tag: HolderTag,
  dest: string,
  kind: WhopayKind
): Promise<HolderSigned> {
  return await groupSigned(w, w.wallet.request(key, tag, dest), kind)
}

async function groupSigned(w: WalletContext, e: HolderEnvelope, kind: WhopayKind): Promise<HolderSigned> {
  const m = await w.group.join(w.life.signal)
  const sig = await w.crypto.sign(m.gpk, m.memberKey, e.digest)
  w.c.metrics.signed(kind)
  return holderSigned(e.env.bytes, sig)
}

/** Runs `fn` under a fresh identity: every holder call of one coin transaction. */
export async function asHolder<T>(w: WalletContext, fn: (anon: AnonNode) => Promise<T>): Promise<T> {
  w.life.check()
  return await withFreshIdentity({ book: w.c.network, metrics: w.c.metrics, signal: w.life.signal }, fn)
}

/** A failure worth the same request again later (the peer may not have acted, or its answer was lost). */
export const retryable = (err: unknown): boolean =>
  !(err instanceof P2payError) ||
  [
    ErrorCode.UNREACHABLE,
    ErrorCode.TIMEOUT,
    ErrorCode.ABORTED,
    ErrorCode.BUSY,
    ErrorCode.STORE_FAILED,
    ErrorCode.NO_SPACE,
    ErrorCode.INTERNAL
  ].includes(err.code as never)

export const errorOf = (err: unknown): { code: string; message: string } =>
  err instanceof P2payError
    ? { code: err.code, message: err.message }
    : { code: ErrorCode.INTERNAL, message: String(err) }
