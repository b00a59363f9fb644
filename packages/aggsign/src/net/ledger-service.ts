// The broker side of AggSign on libp2p: a thin RPC layer over the Ledger. Every
// call runs the ledger synchronously inside `store.apply`, so its change is one
// synced batch before the reply leaves. The accounts are PPay's ledger's (the
// broker hands them in); the escrow is this scheme's custody in the audit.
import {
  ErrorCode,
  Lifecycle,
  P2payError,
  serveRpc,
  type Account,
  type BaseComponents,
  type Routes,
  type SchemeAudit,
  type SchemeService,
  type Table
} from '@p2pay/core'
import { coinId } from '../core/coin.ts'
import { Ledger } from '../core/ledger.ts'
import type { CashResult, LedgerConfig } from '../core/ledger-records.ts'
import type { Counts } from '../core/counts.ts'
import { AGGSIGN_KINDS, type AggsignKind } from '../kinds.ts'
import { LEDGER_TABLES } from '../tables.ts'
import { PROTOCOL } from './protocol.ts'

export interface LedgerInit extends Omit<LedgerConfig, 'now'> {
  /** the lifetime of a certificate whose request names none */
  certTtlMs: number
  /** how often expired certificates hand their escrow back */
  expireEveryMs: number
  now?: () => number
}

export interface LedgerComponents extends BaseComponents<AggsignKind> {
  /** the broker's accounts (PPay's ledger keeps them): certificates escrow from them, cashings pay into them */
  accounts: Table<Account>
}

/** A cashing's answer on the wire: the ledger's result without its counts, or a refusal. */
export type CashAnswer =
  | (CashResult extends infer R ? (R extends unknown ? Omit<R, 'counts'> : never) : never)
  | { coin?: string; status: 'error'; code: string; message: string }

export class LedgerService implements SchemeService {
  readonly name = 'aggsign'
  readonly tables = LEDGER_TABLES
  readonly kinds = AGGSIGN_KINDS
  private readonly c: LedgerComponents
  private readonly init: LedgerInit
  readonly life: Lifecycle
  private ledgerOrUndefined?: Ledger

  constructor(components: LedgerComponents, init: LedgerInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  get ledger(): Ledger {
    if (this.ledgerOrUndefined == null) throw new Error('the AggSign ledger is not started')
    return this.ledgerOrUndefined
  }

  private count(kind: AggsignKind, n: Counts): void {
    for (let i = 0; i < n.signed; i++) this.c.metrics.signed(kind)
    for (let i = 0; i < n.verified; i++) this.c.metrics.verified(kind)
  }

  async start(): Promise<void> {
    const t = { ...(await this.c.store.tables(LEDGER_TABLES)), accounts: this.c.accounts }
    const now = this.init.now ?? Date.now
    const ledger = new Ledger(t, this.c.signer, { ...this.init, now })
    this.ledgerOrUndefined = ledger
    const store = this.c.store
    await serveRpc(
      this.c.network,
      PROTOCOL.broker,
      {
        info: () => ({ broker: ledger.broker, maxLayers: this.init.maxLayers, certTtlMs: this.init.certTtlMs }),
        certify: async (args, { remotePeer }) => {
          const expiry = args.expiry ?? now() + this.init.certTtlMs
          const r = await store.apply(() => ledger.certify(remotePeer, args.key, args.pop, args.limit, expiry))
          this.count('aggsign-certify', r.counts)
          const { counts: _, ...rest } = r
          return rest
        },
        cash: async (args, { remotePeer }) => await this.cashOne(args.coin, remotePeer)
      },
      {
        metrics: this.c.metrics,
        life: this.life,
        onError: (err, op) => this.c.logger.child('ledger').error('rpc handler failed', { op, err })
      }
    )
    this.life.every(this.init.expireEveryMs, 'aggsign escrow release', async () => {
      const out = await store.apply(() => ledger.expire())
      if (out.length > 0) this.c.logger.child('ledger').info('escrow released', { certs: out.length })
    })
    this.c.metrics.gauge('aggsign_certs', () => ledger.t.certs.size, 'AggSign certificates signed')
    this.c.metrics.gauge('aggsign_coins_cashed', () => ledger.t.coins.size, 'AggSign coins cashed')
    this.c.metrics.gauge('aggsign_frauds', () => ledger.t.frauds.size, 'AggSign fraud records')
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(PROTOCOL.broker)
    await this.life.stop()
  }

  /** One coin: the amount paid, or a refusal (FRAUD names the proof when the cashier is the cheater). */
  private async cashOne(coin: unknown, by: string): Promise<CashAnswer> {
    try {
      const r = await this.c.store.apply(() => this.ledger.cash(coin, by))
      this.count('aggsign-cash', r.counts)
      const { counts: _, ...rest } = r
      return rest
    } catch (err) {
      if (!(err instanceof P2payError)) throw err
      if (err.code === ErrorCode.BAD_SIGNATURE) this.c.metrics.verified('aggsign-cash')
      return { status: 'error', code: err.code, message: err.message }
    }
  }

  /** AggSign's part of the conservation audit: the escrow of every certificate is in its custody. */
  audit(): SchemeAudit {
    const { custody, holds, escrow, certs, coins, frauds, meta } = this.ledger.audit()
    // beside the other schemes' fields under its own name: PPay's and the AC's use the same words
    return { custody, holds, aggsign: { holds, escrow, certs, coins, frauds, meta } }
  }

  routes(): Routes {
    const store = this.c.store
    return {
      'GET /frauds': async () => {
        await store.barrier()
        return {
          frauds: [...this.ledger.t.frauds.values()].map(f => ({
            id: f.id,
            coin: f.proof.coins[0] != null ? coinIdOf(f.proof.coins[0]) : undefined,
            cheater: f.culprit,
            depth: f.depth,
            reason: f.kind,
            cert: f.cert,
            compensated: f.compensated,
            shortfall: f.shortfall,
            detectedAt: f.detectedAt
          }))
        }
      },
      'GET /certs': async () => {
        await store.barrier()
        return {
          certs: [...this.ledger.t.certs.values()].map(({ cert: _, ...r }) => r)
        }
      }
    }
  }

  status(): Record<string, unknown> {
    const t = this.ledger.t
    return { certs: t.certs.size, coins: t.coins.size, frauds: t.frauds.size }
  }
}

const coinIdOf = (coin: { mint: unknown }): string | undefined => {
  try {
    return coinId(coin as never)
  } catch {
    return undefined
  }
}
