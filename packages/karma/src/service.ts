// The Karma service of a node: one libp2p protocol for bank duties and
// account-holder calls, a DHT view for bank-sets, the pure Member over LevelDB
// tables, and the control API routes. A node is at once an account holder and
// a member of the banks of the accounts whose keys lie near it.
import { ErrorCode, P2payError, fail, serveRpc, type DaemonContext, type RpcHandler, type Routes } from '@p2pay/core'
import { KarmaAccount, type ReceivedRow, type SentRow, type WalletRow } from './account.ts'
import { BankDuties, type CaughtRow, type OutboxRow } from './bank-duties.ts'
import { checkModes, type ByzantineMode } from './byzantine.ts'
import { DhtView } from './dht-view.ts'
import { EpochRounds } from './epoch-rounds.ts'
import { checkPeerId } from './ids.ts'
import { Member, MEMBER_TABLES, type MemberTables } from './member.ts'
import { openHeartbeat, KIND } from './messages.ts'
import { Peers } from './peers.ts'
import { checkDifficulty } from './pow.ts'
import { DEFAULT_KARMA, KARMA_PROTOCOL, type KarmaConfig } from './protocols.ts'
import { MAX_K } from './bankset.ts'

export class KarmaService {
  readonly ctx: DaemonContext
  readonly cfg: KarmaConfig
  readonly view: DhtView
  readonly member: Member
  readonly duties: BankDuties
  readonly account: KarmaAccount
  readonly epochs: EpochRounds
  private readonly peers: Peers
  private readonly handlers: Record<string, RpcHandler> = {}
  private timer?: NodeJS.Timeout
  private ticking = false

  private constructor(ctx: DaemonContext, cfg: KarmaConfig, tables: Record<string, any>) {
    this.ctx = ctx
    this.cfg = cfg
    this.view = new DhtView(ctx.libp2p, cfg.k, cfg.bankCacheMs)
    this.peers = new Peers(ctx, this.handlers, cfg.callTimeoutMs)
    this.member = new Member(tables as MemberTables, ctx.signer, ctx.verifier, { k: cfg.k, now: cfg.now ?? Date.now })
    this.duties = new BankDuties(ctx, cfg, this.member, this.view, this.peers, tables.outbox, tables.caught)
    this.account = new KarmaAccount(ctx, cfg, this.view, this.peers, this.duties, {
      sent: tables.sent,
      received: tables.received,
      wallet: tables.wallet
    })
    this.epochs = new EpochRounds(ctx, cfg, this.member, this.view, this.peers)
    const d = this.duties
    Object.assign(this.handlers, {
      join: async (a: any) => await d.join(a.proof),
      debit: async (a: any) => await d.debit(a.request),
      notice: async (a: any) => await d.notice(a.notice),
      credited: (a: any) => d.credited(a.hashes),
      awaitCredit: async (a: any) =>
        await d.awaitCredit(a.requestHash, Number.isSafeInteger(a.waitMs) ? a.waitMs : cfg.callTimeoutMs),
      balance: async (a: any, { remotePeer }: { remotePeer: string }) =>
        await d.balance(a.account, a.challenge, remotePeer),
      state: async (a: any, { remotePeer }: { remotePeer: string }) => await d.exportState(a.account, remotePeer),
      handoff: (a: any) => d.handoff(a.account),
      receipt: async (a: any) => await this.account.acceptReceipt(a),
      creditReceipt: (a: any) => {
        this.account.takeCreditReceipt(a.receipt)
      },
      heartbeat: async (a: any) => {
        const peer = openHeartbeat(ctx.verifier, a.heartbeat).body.peer
        const bank = await this.view.bank(peer)
        return await ctx.store.apply(() => this.member.heartbeat(a.heartbeat, bank))
      },
      report: (a: any, { remotePeer }: { remotePeer: string }) => this.epochs.takeReport(a.report, remotePeer),
      factor: (a: any) => this.epochs.factor(a.epoch, a.attempt ?? 0)
    })
  }

  static async create(ctx: DaemonContext, partial: Partial<KarmaConfig> = {}): Promise<KarmaService> {
    const cfg = checkConfig({ ...DEFAULT_KARMA, ...partial })
    const tables: Record<string, unknown> = {}
    for (const name of [...MEMBER_TABLES, 'outbox', 'caught', 'sent', 'received', 'wallet'])
      tables[name] = await ctx.store.table(`karma-${name}`)
    const svc = new KarmaService(ctx, cfg, tables)
    await serveRpc(ctx.libp2p, KARMA_PROTOCOL, svc.handlers, {
      metrics: ctx.metrics,
      maxInboundStreams: 256,
      onError: (err, op) => ctx.log.error('karma handler failed', { op, err })
    })
    return svc
  }

  /** Test-only switch (in-process swarms, or a daemon's --allow-cheats route). */
  setByzantine(modes: ByzantineMode[]): void {
    this.duties.byzantine.clear()
    for (const m of modes) this.duties.byzantine.add(m)
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.ticking) return
      this.ticking = true
      void this.duties
        .tick()
        .then(async () => await this.epochs.heartbeatIfDue())
        .catch(err => this.ctx.log.warn('karma housekeeping failed', { err }))
        .finally(() => {
          this.ticking = false
        })
    }, this.cfg.syncMs)
    this.timer.unref()
    this.epochs.start()
  }

  async stop(): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    this.epochs.stop()
    await this.peers.close()
  }

  /** Totals of this member's books, for status and audits. */
  summary(): Record<string, unknown> {
    const t = this.member.totals()
    return {
      k: this.cfg.k,
      epoch: this.member.epoch(),
      books: { accounts: t.accounts, karma: t.balances },
      outbox: this.duties.outbox.size,
      pendingOwn: [...this.account.sent.values()].filter(r => r.status === 'pending').length,
      ignoredNotices: this.member.ignored,
      byzantine: [...this.duties.byzantine]
    }
  }

  routes(allowCheats = false): Routes {
    const peerOrSelf = (q: URLSearchParams): string => {
      const p = q.get('peer') ?? ''
      return p === '' ? this.account.me : checkPeerId(p, 'peer')
    }
    const routes: Routes = {
      'POST /v1/karma/join': async () => await this.account.join(),
      'GET /v1/karma/balance': async (_b, q) => await this.account.read(peerOrSelf(q), q.get('fresh') === '1'),
      'POST /v1/karma/transfer': async b => await this.account.transfer(String(b.to ?? ''), b.amount),
      /** relays a transfer request signed elsewhere to bank(A) */
      'POST /v1/karma/submit': async b => await this.account.relay(b.request),
      'GET /v1/karma/bankset': async (_b, q) => {
        const peer = peerOrSelf(q)
        return { peer, k: this.cfg.k, bank: await this.view.bank(peer, q.get('fresh') === '1'), self: this.account.me }
      },
      /** this member's own books for one account (not a majority read: for audits and tests) */
      'GET /v1/karma/books': async (_b, q) => {
        await this.ctx.store.barrier()
        const id = q.get('account')
        if (id != null && id !== '')
          return { member: this.account.me, account: id, row: this.member.account(checkPeerId(id, 'account')) ?? null }
        return {
          member: this.account.me,
          accounts: Object.fromEntries(
            [...this.member.t.accounts.entries()].map(([k, v]) => [k, { balance: v.balance, nonce: v.nonce }])
          )
        }
      },
      'GET /v1/karma/sent': async () => {
        await this.ctx.store.barrier()
        return { sent: [...this.account.sent.values()].map(stripSent) }
      },
      'GET /v1/karma/received': async () => {
        await this.ctx.store.barrier()
        return { received: [...this.account.received.values()].map(stripReceived) }
      },
      'GET /v1/karma/caught': async () => {
        await this.ctx.store.barrier()
        return { caught: this.duties.caughtList().map(stripCaught) }
      },
      'GET /v1/karma/status': () => ({
        peerId: this.account.me,
        ...this.summary(),
        lastEpoch: this.epochs.last ?? null,
        dhtQueries: this.view.queries,
        dhtQueriesBy: this.view.queriesBy
      }),
      /**
       * ends epoch `epoch` (default: this node's) now; every node of the network must run the same round (same attempt)
       */
      'POST /v1/karma/epoch': async b => await this.epochs.round(b.attempt ?? 0, b.epoch),
      'POST /v1/karma/sync': async () => {
        await this.duties.tick()
        return this.summary()
      }
    }
    if (allowCheats) {
      routes['POST /v1/karma/cheat/byzantine'] = b => {
        this.setByzantine(checkModes(b.modes))
        return { byzantine: [...this.duties.byzantine] }
      }
    }
    return routes
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
const stripCaught = (r: CaughtRow): CaughtRow => r

export function checkConfig(c: KarmaConfig): KarmaConfig {
  const int = (v: unknown, lo: number, hi: number, what: string): void => {
    if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi)
      fail(ErrorCode.BAD_REQUEST, `${what} must be an integer ${lo}..${hi}`)
  }
  int(c.k, 1, MAX_K, '--karma-k')
  checkDifficulty(c.powBits)
  int(c.initialKarma, 0, 2 ** 40, '--karma-initial')
  int(c.epochMs, 0, 365 * 86_400_000, '--karma-epoch')
  if (c.epochMs > 0 && c.epochMs < 1000)
    throw new P2payError(ErrorCode.BAD_REQUEST, '--karma-epoch must be 0 (off) or at least 1000 ms')
  int(c.bankCacheMs, 0, 3_600_000, 'bank cache')
  int(c.syncMs, 100, 3_600_000, '--karma-sync-ms')
  int(c.callTimeoutMs, 1000, 600_000, 'call timeout')
  return c
}

export type { KarmaConfig, OutboxRow, WalletRow }
export { KIND }
