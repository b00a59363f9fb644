// The Karma service of a node: one libp2p protocol for bank duties and
// account-holder calls, a DHT view for bank-sets, the pure Member over LevelDB
// tables, the housekeeping tick and epoch rounds, and the control-API routes.
// A node is at once an account holder and a member of the banks of the
// accounts whose keys lie near it.
import { Lifecycle, checkPeerId, serveRpc, textOf, type RpcHandler, type Routes, type SchemeService } from '@p2pay/core'
import type { ReceivedRow, SentRow } from '../core/account.ts'
import type { KarmaConfig } from '../core/config.ts'
import { Member } from '../core/member.ts'
import { KARMA_KINDS } from '../kinds.ts'
import { AccountHolder } from './account.ts'
import { BankDuties } from './bank-duties.ts'
import type { KarmaComponents, KarmaContext } from './context.ts'
import { DhtView } from './dht-view.ts'
import { EpochService } from './epoch-service.ts'
import { Peers } from './peers.ts'
import { KARMA_PROTOCOL, karmaHandlers } from './protocols.ts'
import { KARMA_TABLES } from './tables.ts'

/** The parts of a started service. */
interface Parts {
  ctx: KarmaContext
  view: DhtView
  peers: Peers
  duties: BankDuties
  account: AccountHolder
  epochs: EpochService
}

export class KarmaService implements SchemeService {
  readonly name = 'karma'
  readonly tables = KARMA_TABLES
  readonly kinds = KARMA_KINDS
  readonly cfg: KarmaConfig
  /** op -> handler: served on KARMA_PROTOCOL, and run directly for this node's calls to itself */
  readonly handlers: Record<string, RpcHandler> = {}
  private readonly c: KarmaComponents
  readonly life: Lifecycle
  private parts?: Parts

  /** `cfg` as checkConfig passed it. */
  constructor(components: KarmaComponents, cfg: KarmaConfig) {
    this.c = components
    this.cfg = cfg
    this.life = new Lifecycle(components.logger)
  }

  private get started(): Parts {
    if (this.parts == null) throw new Error('the Karma service is not started')
    return this.parts
  }
  /** What the service's parts share, once started. */
  get ctx(): KarmaContext {
    return this.started.ctx
  }
  get view(): DhtView {
    return this.started.view
  }
  get member(): Member {
    return this.started.ctx.member
  }
  get duties(): BankDuties {
    return this.started.duties
  }
  get account(): AccountHolder {
    return this.started.account
  }
  get epochs(): EpochService {
    return this.started.epochs
  }

  async start(): Promise<void> {
    const { network, store, signer, verifier, metrics, logger } = this.c
    const cfg = this.cfg
    const life = this.life
    const t = await store.tables(KARMA_TABLES)
    const me = signer.peerId
    const view = new DhtView(network, cfg.k, cfg.bankCacheMs, life.signal)
    const peers = new Peers(network, {
      self: me,
      handlers: this.handlers,
      timeoutMs: cfg.callTimeoutMs,
      metrics,
      signal: life.signal
    })
    const member = new Member(t, signer, verifier, { k: cfg.k, now: cfg.now ?? Date.now })
    const ctx: KarmaContext = { me, cfg, member, t, store, signer, verifier, log: logger, life, view, peers }
    const duties = new BankDuties(ctx)
    const account = new AccountHolder(ctx)
    const epochs = new EpochService(ctx)
    this.parts = { ctx, view, peers, duties, account, epochs }
    Object.assign(this.handlers, karmaHandlers(duties, account, epochs, cfg.callTimeoutMs, this.handlers))
    await serveRpc(network, KARMA_PROTOCOL, this.handlers, {
      metrics,
      maxInboundStreams: 256,
      life,
      onError: (err, op) => logger.error('karma handler failed', { op, err })
    })
    // a node that starts with books was away: once the first sync interval has let the connections come back, it
    // reconciles (a bank sync round, a resync from each bank's majority) before its rows are votes again
    duties.reconcile.start(cfg.syncMs)
    life.every(cfg.syncMs, 'karma housekeeping', async () => {
      await duties.tick()
      await epochs.heartbeatIfDue()
    })
    epochs.start()
  }

  async stop(): Promise<void> {
    if (this.parts == null) return
    await this.c.network.unhandle(KARMA_PROTOCOL)
    await this.life.stop()
    await this.parts.peers.close()
  }

  /** Totals of this member's books, for status and audits. */
  summary(): Record<string, unknown> {
    const { member, t } = this.ctx
    const books = member.totals()
    return {
      k: this.cfg.k,
      epoch: member.epoch(),
      books: { accounts: books.accounts, karma: books.balances },
      outbox: t.outbox.size,
      pendingOwn: [...t.sent.values()].filter(r => r.status === 'pending').length,
      ignoredNotices: member.ignored,
      reconciling: member.reconciling,
      lastReconcile: this.started.duties.reconcile.last ?? null
    }
  }

  status(): Record<string, unknown> {
    return this.summary()
  }

  routes(): Routes {
    const { ctx, view, duties, account, epochs } = this.started
    const { member, store, t } = ctx
    const life = this.life
    const peerOrSelf = (q: URLSearchParams): string => {
      const p = q.get('peer') ?? ''
      return p === '' ? ctx.me : checkPeerId(p, 'peer')
    }
    return {
      'POST /join': async () => await account.join(),
      'GET /balance': async (_b, q) => await account.read(peerOrSelf(q), q.get('fresh') === '1'),
      // `id`: the payments journal's entry, written on the transfer's karma-sent row
      'POST /transfer': async b =>
        await account.transfer(textOf(b.to), b.amount, typeof b.id === 'string' ? b.id : undefined),
      /** relays a transfer request signed elsewhere to bank(A) */
      'POST /submit': async b => await account.relay(b.request),
      'GET /bankset': async (_b, q) => {
        const peer = peerOrSelf(q)
        const bank = await life.run('bank-set', async () => await view.bank(peer, q.get('fresh') === '1'))
        return { peer, k: this.cfg.k, bank, self: ctx.me }
      },
      /** this member's own books for one account (not a majority read: for audits and tests) */
      'GET /books': async (_b, q) => {
        await store.barrier()
        const id = q.get('account')
        if (id != null && id !== '')
          return { member: ctx.me, account: id, row: member.account(checkPeerId(id, 'account')) ?? null }
        return {
          member: ctx.me,
          accounts: Object.fromEntries(
            [...member.t.accounts.entries()].map(([k, v]) => [k, { balance: v.balance, nonce: v.nonce }])
          )
        }
      },
      'GET /sent': async () => {
        await store.barrier()
        return { sent: [...t.sent.values()].map(stripSent) }
      },
      'GET /received': async () => {
        await store.barrier()
        return { received: [...t.received.values()].map(stripReceived) }
      },
      'GET /caught': async () => {
        await store.barrier()
        return { caught: duties.caughtList() }
      },
      'GET /status': () => ({
        peerId: ctx.me,
        ...this.summary(),
        lastEpoch: epochs.last ?? null,
        dhtQueries: view.queries,
        dhtQueriesBy: view.queriesBy,
        /** one-way messages that may share a frame (notices), and the frames they went out in */
        oneWay: { ...this.started.peers.stats }
      }),
      /**
       * ends epoch `epoch` (default: this node's) now; every node of the network must run the same round (same attempt)
       */
      'POST /epoch': async b => await epochs.round(b.attempt ?? 0, b.epoch),
      'POST /sync': async () => {
        await duties.tick()
        return this.summary()
      }
    }
  }
}

const stripSent = (r: SentRow): Omit<SentRow, 'request'> => {
  const { request: _, ...rest } = r
  return rest
}
const stripReceived = (
  r: ReceivedRow
): Pick<ReceivedRow, 'requestHash' | 'from' | 'amount' | 'nonce' | 'at'> & { debits: number; credits: number } => ({
  requestHash: r.requestHash,
  from: r.from,
  amount: r.amount,
  nonce: r.nonce,
  at: r.at,
  debits: r.debits.length,
  credits: r.credits.length
})
