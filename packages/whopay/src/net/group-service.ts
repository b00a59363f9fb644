// The broker's part of the group (a part the WhoPay ledger service creates, starts and stops): it builds the group
// on the judge's signed opener part with an issuer key of its own, answers `info` and `join` on the group protocol,
// and keeps the REGISTRY (member id A -> peer id): the judge opens a signature to an A, only the broker names the
// peer. The judge may be down when the broker starts: the group is set up in the background, retried until the
// judge answers; until then `info` and `join` are refused UNREACHABLE (a kept group is ready at once).
import {
  ErrorCode,
  RpcClient,
  abortReason,
  dialTarget,
  fail,
  fromB64,
  isTransient,
  serveRpc,
  toB64,
  type Counters,
  type Lifecycle,
  type Logger,
  type Network,
  type Party,
  type Routes,
  type Signer,
  type Store,
  type TablesOf,
  type Verifier
} from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import type * as bbs from '../core/bbs04.ts'
import { checkEvidence } from '../core/evidence.ts'
import type { GroupRecord } from '../core/group-envelopes.ts'
import type { Opening } from '../core/opener.ts'
import { loadGroupCore, type GroupCore } from './group-core.ts'
import { GROUP_CALL_TIMEOUT_MS, GROUP_PROTOCOL, OPENER_PROTOCOL } from './group-protocols.ts'
import { GROUP_TABLES, type KeptGroup } from './group-tables.ts'

/** First wait before asking the judge again for its opener part; doubled up to the cap. */
const RETRY_FIRST_MS = 500
const RETRY_CAP_MS = 5_000
/** How long `open` waits for the judge: it checks the evidence and two group signatures. */
const OPEN_TIMEOUT_MS = 30_000

export interface GroupServiceComponents {
  network: Pick<Network, 'handle' | 'unhandle' | 'dialProtocol'>
  store: Store
  signer: Signer<WhopayKind>
  verifier: Verifier<WhopayKind>
  metrics: Counters<WhopayKind>
  logger: Logger
}

export interface GroupServiceInit {
  /** the judge (multiaddr ending in /p2p/<id>, the broker's `--whopay-judge`); without it there is no group */
  judge?: Party
  /** the ledger service's lifecycle: its stop aborts the setup, the handlers and the calls to the judge */
  life: Lifecycle
}

/** What `open` gives the ledger: the judge's openings and the peers the registry names for them. */
export interface OpenResult {
  case: string
  /** base64 of the judge's two `whopay/opening` envelopes */
  openings: [string, string]
  /** base64 member ids A, in the evidence's order */
  members: [string, string]
  /** the peers that joined with them, without repeats; a member not in the registry names no one */
  cheaters: string[]
}

export class GroupService {
  readonly tables = GROUP_TABLES
  private readonly c: GroupServiceComponents
  private readonly init: GroupServiceInit
  private readonly log: Logger
  private t?: TablesOf<typeof GROUP_TABLES>
  private issuer?: { gpk: bbs.GroupPublicKey; key: bbs.IssuerKey; record: GroupRecord; opener: string }
  /** BBS04, loaded when there is a group to keep or to set up */
  private core?: GroupCore
  private judgeClient?: RpcClient<WhopayKind>
  private readonly setUpDone = Promise.withResolvers<GroupRecord>()

  constructor(components: GroupServiceComponents, init: GroupServiceInit) {
    this.c = components
    this.init = init
    this.log = components.logger.child('group')
    if (init.judge != null)
      this.judgeClient = new RpcClient<WhopayKind>(components.network, dialTarget(init.judge), OPENER_PROTOCOL)
  }

  async start(): Promise<void> {
    const t = (this.t = await this.c.store.tables(GROUP_TABLES))
    const kept = t.group.get('group')
    if (kept != null) this.load((this.core = await loadGroupCore()), kept)
    const life = this.init.life
    await serveRpc(
      this.c.network,
      GROUP_PROTOCOL,
      {
        info: () => {
          const g = this.ready()
          return { group: g.record.b64, opener: g.opener }
        },
        join: async (_args, { remotePeer }) => await this.join(remotePeer)
      },
      {
        metrics: this.c.metrics as Counters,
        kindOf: () => 'whopay-join',
        life,
        onError: (err, op) => this.log.error('group rpc handler failed', { op, err })
      }
    )
    if (this.issuer == null && this.init.judge != null)
      life.spawn('whopay group setup', async signal => await this.setUp(signal))
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(GROUP_PROTOCOL)
    await this.judgeClient?.close()
  }

  /** The group, once set up: what the ledger verifies holder requests against. */
  group(): GroupRecord | undefined {
    return this.issuer?.record
  }

  /** Resolves with the group once it is set up (at once if it is), or rejects when `signal` aborts. */
  async whenReady(signal: AbortSignal): Promise<GroupRecord> {
    if (this.issuer != null) return this.issuer.record
    const { promise, reject } = Promise.withResolvers<never>()
    const onAbort = (): void => reject(abortReason(signal))
    if (signal.aborted) onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await Promise.race([this.setUpDone.promise, promise])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private ready(): NonNullable<GroupService['issuer']> {
    if (this.issuer != null) return this.issuer
    if (this.init.judge == null) fail(ErrorCode.BAD_REQUEST, 'this broker has no --whopay-judge: WhoPay has no group')
    fail(ErrorCode.UNREACHABLE, "the broker has no group yet: it is waiting for the judge's opener part")
  }

  private get tablesOrFail(): TablesOf<typeof GROUP_TABLES> {
    if (this.t == null) throw new Error('the WhoPay group is not started')
    return this.t
  }

  /** The group kept by an earlier run, checked again as a member would check it. */
  private load({ bbs, record: records, opener: openers }: GroupCore, kept: KeptGroup): void {
    const opener = openers.openOpenerPart(this.c.verifier, kept.opener, kept.judge)
    const record = records.openGroupRecord(this.c.verifier, kept.record, this.c.signer.peerId, opener)
    const key = bbs.decodeIssuerKey(fromB64(kept.issuer))
    this.settle({ gpk: bbs.decodeGroupPublicKey(record.gpk), key, record, opener: kept.opener })
    if (this.init.judge != null && this.init.judge.id !== kept.judge)
      this.log.error('--whopay-judge names another judge than the one the kept group was built with: kept', {
        kept: kept.judge,
        flag: this.init.judge.id
      })
  }

  private settle(issuer: NonNullable<GroupService['issuer']>): void {
    this.issuer = issuer
    this.setUpDone.resolve(issuer.record)
  }

  /** Asks the judge for its opener part until it answers, then builds, signs and keeps the group. */
  private async setUp(signal: AbortSignal): Promise<void> {
    const judge = this.init.judge!
    const { bbs, record: records, opener: openers } = (this.core ??= await loadGroupCore())
    let wait = RETRY_FIRST_MS
    for (;;) {
      try {
        const params = await this.judgeClient!.call<{ opener: string }>(
          'params',
          {},
          { kind: 'whopay-join', signal, timeoutMs: GROUP_CALL_TIMEOUT_MS }
        )
        const opener = openers.openOpenerPart(this.c.verifier, params?.opener, judge.id)
        const { gpk, issuerKey } = bbs.issuerSetup(opener.part)
        const record = records.signGroupRecord(this.c.signer, gpk, opener)
        const kept = {
          issuer: toB64(bbs.encodeIssuerKey(issuerKey)),
          gpk: toB64(record.gpk),
          record: record.b64,
          opener: opener.b64,
          judge: judge.id,
          at: Date.now()
        }
        await this.c.store.apply(() => this.tablesOrFail.group.set('group', kept))
        this.settle({ gpk, key: issuerKey, record, opener: opener.b64 })
        this.log.info("WhoPay group set up on the judge's opener part", { judge: judge.id, group: record.hash })
        return
      } catch (err) {
        if (signal.aborted) throw err
        // a judge that answers with a part not to trust is logged loudly, and asked again like an absent one
        const level = isTransient(err) ? 'info' : 'error'
        this.log[level]("the judge's opener part is not here yet: asking again", { err: err as Error, waitMs: wait })
      }
      await this.init.life.sleep(wait)
      wait = Math.min(wait * 2, RETRY_CAP_MS)
    }
  }

  /** A member key for `peer` (its long-term identity, as Noise authenticated it); the same key to a repeat. */
  private async join(peer: string): Promise<{ key: string }> {
    const g = this.ready()
    // a group is set up or loaded only with BBS04 loaded
    const bbs = this.core!.bbs
    const t = this.tablesOrFail
    const kept = t.members.get(peer)
    if (kept != null) return kept
    return await this.c.store.apply(() => {
      // another join of this peer may have been written since the check above
      const again = t.members.get(peer)
      if (again != null) return again
      const key = bbs.issue(g.gpk, g.key)
      const a = toB64(bbs.memberId(key))
      t.registry.set(a, { peer, joined: Date.now() })
      const entry = { key: toB64(bbs.encodeMemberKey(key)) }
      t.members.set(peer, entry)
      this.log.info('a peer joined the WhoPay group', { peer, member: a })
      return entry
    })
  }

  /** The peer that joined with member id `a` (base64), if any. */
  peerOf(a: string): string | undefined {
    return this.tablesOrFail.registry.get(a)?.peer
  }

  /**
   * Has the judge open both group signatures of a holder double spend, checks its openings (by the judge, of this
   * case and of these signatures) and names the peers through the registry. The judge's refusals come back as they
   * are (NOT_CONFLICT, BAD_GROUP_SIGNATURE, ...); UNREACHABLE or TIMEOUT when it does not answer.
   */
  async open(evidence: unknown, signal?: AbortSignal): Promise<OpenResult> {
    this.ready()
    const judge = this.init.judge!
    const checked = checkEvidence(this.c.verifier, evidence, this.c.signer.peerId, 'whopay-open')
    const answer = await this.judgeClient!.call<{ case: string; openings: string[] }>(
      'open',
      { evidence },
      { kind: 'whopay-open', signal: signal ?? this.init.life.signal, timeoutMs: OPEN_TIMEOUT_MS }
    )
    const { openOpenings } = this.core!.opener
    const openings: [Opening, Opening] = openOpenings(this.c.verifier, answer?.openings, judge.id, checked)
    const members = openings.map(o => o.member) as [string, string]
    const cheaters = [...new Set(members.map(m => this.peerOf(m)).filter((p): p is string => p != null))]
    for (const m of members)
      if (this.peerOf(m) == null) this.log.warn('the judge opened a signature to a member not in the registry', { m })
    this.log.info('the judge opened a double spend', { case: checked.hash, coin: checked.coin, cheaters })
    return { case: checked.hash, openings: [openings[0].b64, openings[1].b64], members, cheaters }
  }

  /** The registry, for `GET /v1/whopay/registry`: in the order the members joined (the same after a restart). */
  registry(): Array<{ member: string; peer: string; joined: number }> {
    return [...this.tablesOrFail.registry.entries()]
      .map(([member, r]) => ({ member, peer: r.peer, joined: r.joined }))
      .sort((x, y) => x.joined - y.joined || (x.member < y.member ? -1 : 1))
  }

  /** The routes the ledger mounts for the group. */
  routes(): Routes {
    return {
      'GET /registry': async () => {
        await this.c.store.barrier()
        const g = this.issuer?.record
        return { group: g?.hash, judge: this.init.judge?.id, members: this.registry() }
      }
    }
  }

  status(): Record<string, unknown> {
    return { group: this.issuer?.record.hash ?? null, members: this.t?.registry.size ?? 0 }
  }
}
