// The accounting centre on libp2p, inside the broker: a thin RPC layer over the
// pure Accounting ledger, sharing the broker's accounts with PPay. Every call
// runs inside `store.apply`, so its change is one synced batch before the reply.
// A timer pays out held proceeds and hands back the escrow of expired certificates.
import {
  ErrorCode,
  Lifecycle,
  fail,
  hasCode,
  serveRpc,
  sha256Hex,
  type Account,
  type BaseComponents,
  type Opened,
  type Routes,
  type SchemeAudit,
  type SchemeService,
  type Table,
  type Verifier
} from '@p2pay/core'
import { Accounting } from '../core/accounting.ts'
import type { AccountingConfig } from '../core/accounting-records.ts'
import type { BanNotice } from '../core/accounting-bans.ts'
import { openBan, openVerdict, type BanBody, type VerdictBody } from '../core/judgment-records.ts'
import { decodeEnvelope } from '../core/messages.ts'
import { FAIREX_KINDS, type FairexKind } from '../kinds.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { ACCOUNTING_TABLES } from './tables.ts'
import { MAX_SALE_FRAME } from './sale-stream.ts'

export interface AccountingInit extends Omit<AccountingConfig, 'now'> {
  now?: () => number
  /** how often expired certificates hand their escrow back and held proceeds are paid out */
  releaseIntervalMs: number
  /** peer id of the network's judge: only its providerBan verdicts void cheques; without it voids are refused */
  judge?: string
}

export type AccountingComponents = BaseComponents<FairexKind> & {
  /** the broker's accounts (PPay's ledger keeps them): certificates escrow from them, deposits pay into them */
  accounts: Table<Account>
}

/**
 * The ban record a void brings (the judge's, for this verdict's provider), as
 * the AC notes it; undefined once the ban is over, as there is nothing to hold.
 */
function banOf(
  verifier: Verifier,
  b64: unknown,
  judge: string,
  verdict: Opened<VerdictBody>,
  now: number
): (BanNotice & { peer: string }) | undefined {
  let ban: Opened<BanBody>
  try {
    ban = openBan(verifier, b64, judge, now, 'fairex-void')
  } catch (err) {
    if (hasCode(err, ErrorCode.EXPIRED)) return undefined
    throw err
  }
  if (ban.body.verdict !== verdict.hash || ban.body.peer !== verdict.body.provider)
    fail(ErrorCode.BAD_REQUEST, "the ban record is not this verdict's")
  return { hash: ban.hash, until: ban.body.until, peer: ban.body.peer }
}

type Release = { expired: ReturnType<Accounting['releaseExpired']>; held: ReturnType<Accounting['releaseHeld']> }

export class AccountingService implements SchemeService {
  readonly name = 'fairex'
  readonly tables = ACCOUNTING_TABLES
  readonly kinds = FAIREX_KINDS
  private readonly c: AccountingComponents
  private readonly init: AccountingInit
  readonly life: Lifecycle
  private acOrUndefined?: Accounting

  constructor(components: AccountingComponents, init: AccountingInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  /** The AC's ledger, once started. */
  get ac(): Accounting {
    if (this.acOrUndefined == null) throw new Error('the accounting centre is not started')
    return this.acOrUndefined
  }

  async start(): Promise<void> {
    const { store, logger: log } = this.c
    const t = { ...(await store.tables(ACCOUNTING_TABLES)), accounts: this.c.accounts }
    const ac = new Accounting(t, this.c.signer, this.c.verifier, { ...this.init, now: this.init.now ?? Date.now })
    this.acOrUndefined = ac
    const judge = this.init.judge
    if (judge == null) log.warn('no --judge configured: cheque voids will be refused')
    await serveRpc(
      this.c.network,
      FAIREX_PROTOCOL.ac,
      {
        certificate: async args => await store.apply(() => ac.issueCertificate(args.request)),
        // the provider, with D's message 1.1, before it sends any piece
        reserve: async args => await store.apply(() => ac.reserve(args.request, args.certificate)),
        deposit: async args => await store.apply(() => ac.deposit(args.request, args.items)),
        // anyone may bring the verdict (the judge does, retrying): the judge's signature is what counts
        void: async args => {
          if (judge == null)
            fail(ErrorCode.NOT_FOUND, 'this broker has no judge configured (start it with --judge <peer id>)')
          const verdict = openVerdict(this.c.verifier, args.verdict, judge, 'fairex-void')
          if (verdict.body.ruling !== 'providerBan')
            fail(ErrorCode.BAD_REQUEST, `a ${verdict.body.ruling} verdict voids nothing`)
          if (sha256Hex(decodeEnvelope(args.cheque, 'cheque')) !== verdict.body.cheque)
            fail(ErrorCode.BAD_REQUEST, 'the verdict is about another cheque')
          const ban = args.ban == null ? undefined : banOf(this.c.verifier, args.ban, judge, verdict, ac.cfg.now())
          const r = await store.apply(() => ac.voidCheque(args.cheque, verdict.hash, ban))
          const { chequeSn, provider, refunded, shortfall } = r
          log.info('cheque voided by verdict', { chequeSn, provider, refunded, shortfall })
          return r
        },
        balance: async (_args, { remotePeer }) => {
          await store.barrier()
          return { account: remotePeer, balance: ac.balance(remotePeer) }
        }
      },
      {
        metrics: this.c.metrics,
        life: this.life,
        // nodes read the market's answers up to a sale's frame
        maxReply: MAX_SALE_FRAME,
        onError: (err, op) => log.error('ac handler failed', { op, err })
      }
    )
    this.life.every(this.init.releaseIntervalMs, 'fairex release', async () => {
      const { expired, held } = await this.release()
      if (expired.length > 0) log.info('expired certificates released', { count: expired.length })
      if (held.length > 0)
        log.info('held proceeds paid out', { deposits: held.length, paid: held.reduce((n, h) => n + h.paid, 0) })
    })
    this.c.metrics.gauge('capital_certificates', () => ac.t.certificates.size, 'Capital certificates issued')
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(FAIREX_PROTOCOL.ac)
    await this.life.stop()
  }

  /** Pays out held proceeds whose window passed and returns the escrow of expired certificates, in one batch. */
  private async release(): Promise<Release> {
    return await this.c.store.apply(() => ({ held: this.ac.releaseHeld(), expired: this.ac.releaseExpired() }))
  }

  /**
   * The AC's part of the broker's conservation audit: the escrow is in its
   * custody; `holds` is its own books (each escrow is its max less what left
   * it, no negative balance).
   */
  audit(): SchemeAudit {
    const a = this.ac.audit()
    return {
      custody: a.escrow,
      holds: a.holds,
      escrow: a.escrow,
      // part of the escrow: deposited, waiting out the complaint window
      held: a.held,
      ac: { holds: a.holds, certificates: a.certificates, cheques: a.cheques, voids: a.voids, meta: a.meta }
    }
  }

  status(): Record<string, unknown> {
    return { judge: this.init.judge ?? null, certificates: this.ac.t.certificates.size }
  }

  routes(): Routes {
    const store = this.c.store
    return {
      'GET /certificates': async () => {
        await store.barrier()
        return { certificates: [...this.ac.t.certificates.values()].map(({ cert: _c, ...r }) => r) }
      },
      'GET /cheques': async () => {
        await store.barrier()
        return { cheques: [...this.ac.t.cheques.values()] }
      },
      'GET /holds': async () => {
        await store.barrier()
        return { holds: [...this.ac.t.holds.entries()].map(([deposit, h]) => ({ deposit, ...h })) }
      },
      'POST /release': async () => await this.life.run('fairex release', async () => await this.release()),
      'GET /status': () => this.status()
    }
  }
}
