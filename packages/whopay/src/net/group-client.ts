// A node's part of the group: it fetches the broker's group and trusts it only when the judge it knows (by peer id,
// from its own config) signed the opener part the group's key carries; then it joins once, over its long-term
// identity (the broker must know who it is), checks the member key it got, and keeps it. The checks on points and
// the pairing run where mcl-wasm is: a daemon hands its worker pool (GroupChecks), so its own thread never loads it.
import {
  ErrorCode,
  RpcClient,
  dialTarget,
  fail,
  fromB64,
  toB64,
  type Logger,
  type Network,
  type Party,
  type Store,
  type TablesOf,
  type Verifier
} from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import type { GroupCrypto } from '../core/group-pool.ts'
import {
  openGroupEnvelope,
  openOpenerEnvelope,
  type GroupRecord,
  type OpenerEnvelope
} from '../core/group-envelopes.ts'
import { GROUP_CALL_TIMEOUT_MS, GROUP_PROTOCOL } from './group-protocols.ts'
import { MEMBER_TABLES } from './group-tables.ts'

/** The broker's group answer to `info`: its record and the judge's opener envelope it was built on. */
export interface GroupInfo {
  group: string
  opener: string
}

/** A group as a member uses it: the encoded keys GroupCrypto takes. */
export interface Membership {
  gpk: Uint8Array
  memberKey: Uint8Array
}

/** The checks of a group and of a member key that need BBS04's arithmetic (GroupCrypto has them in its workers). */
export type GroupChecks = Pick<GroupCrypto, 'checkGroup' | 'checkMember'>

/** The same checks on the calling thread, mcl-wasm loaded at the first: for a caller with no worker pool. */
export const checksHere: GroupChecks = {
  checkGroup: async (gpk, part) => {
    const bbs = await import('../core/bbs04.ts')
    bbs.checkGroupOnPart(bbs.decodeGroupPublicKey(gpk), part)
  },
  checkMember: async (gpk, memberKey) => {
    const bbs = await import('../core/bbs04.ts')
    return bbs.checkMemberKey(bbs.decodeGroupPublicKey(gpk), bbs.decodeMemberKey(memberKey))
  }
}

/**
 * Fetches the broker's group and checks it: the opener envelope by `judge`, the group record by `broker` on exactly
 * that part, its points in their subgroups and on the standard generators (`checks`). WRONG_SIGNER or BAD_REQUEST
 * for a group not to trust.
 */
export async function fetchGroup(
  client: RpcClient<WhopayKind>,
  verifier: Verifier<WhopayKind>,
  broker: string,
  judge: string,
  signal?: AbortSignal,
  checks: GroupChecks = checksHere
): Promise<{ group: GroupRecord; opener: OpenerEnvelope }> {
  const info = await client.call<GroupInfo>(
    'info',
    {},
    { kind: 'whopay-join', signal, timeoutMs: GROUP_CALL_TIMEOUT_MS }
  )
  if (info == null || typeof info !== 'object') fail(ErrorCode.BAD_REQUEST, 'the group info is {group, opener}')
  const opener = openOpenerEnvelope(verifier, info.opener, judge)
  const group = openGroupEnvelope(verifier, info.group, broker, opener)
  await checks.checkGroup(group.gpk, opener.partBytes)
  return { group, opener }
}

export interface GroupClientComponents {
  network: Pick<Network, 'dialProtocol'>
  store: Store
  verifier: Verifier<WhopayKind>
  logger: Logger
}

export interface GroupClientInit {
  /** the broker that keeps the registry and issues member keys */
  broker: Party
  /** the judge that holds the opening key, from this node's config; without it the node trusts no group */
  judge?: Party
  /** where the group and the member key are checked: the daemon's worker pool; on this thread without it */
  checks?: GroupChecks
}

export class GroupClient {
  private readonly c: GroupClientComponents
  private readonly init: GroupClientInit
  private readonly client: RpcClient<WhopayKind>
  private t?: TablesOf<typeof MEMBER_TABLES>
  private joining?: Promise<Membership>

  constructor(components: GroupClientComponents, init: GroupClientInit) {
    this.c = components
    this.init = init
    this.client = new RpcClient<WhopayKind>(components.network, dialTarget(init.broker), GROUP_PROTOCOL)
  }

  async start(): Promise<void> {
    this.t = await this.c.store.tables(MEMBER_TABLES)
  }

  async stop(): Promise<void> {
    await this.client.close()
  }

  private get tables(): TablesOf<typeof MEMBER_TABLES> {
    if (this.t == null) throw new Error('the WhoPay group client is not started')
    return this.t
  }

  /** The member key this node keeps, if it joined. */
  membership(): Membership | undefined {
    const m = this.tables.member.get('member')
    return m != null ? { gpk: fromB64(m.group.gpk), memberKey: fromB64(m.key) } : undefined
  }

  /** Joins once; a node that joined gets its kept key, and concurrent calls share one join. */
  async join(signal?: AbortSignal): Promise<Membership> {
    const kept = this.membership()
    if (kept != null) return kept
    this.joining ??= this.joinOnce(signal).finally(() => {
      this.joining = undefined
    })
    return await this.joining
  }

  private async joinOnce(signal?: AbortSignal): Promise<Membership> {
    const judge = this.init.judge
    if (judge == null)
      fail(ErrorCode.BAD_REQUEST, "this node has no --whopay-judge: it cannot check the broker's group")
    const checks = this.init.checks ?? checksHere
    const { group, opener } = await fetchGroup(
      this.client,
      this.c.verifier,
      this.init.broker.id,
      judge.id,
      signal,
      checks
    )
    const answer = await this.client.call<{ key: string }>(
      'join',
      {},
      { kind: 'whopay-join', signal, timeoutMs: GROUP_CALL_TIMEOUT_MS }
    )
    const memberKey = fromB64(String(answer?.key ?? ''))
    if (!(await checks.checkMember(group.gpk, memberKey)))
      fail(ErrorCode.BAD_SIGNATURE, 'the broker issued a member key that is not of its group')
    await this.c.store.apply(() => {
      this.tables.member.set('member', {
        key: toB64(memberKey),
        group: { gpk: toB64(group.gpk), record: group.b64, hash: group.hash },
        opener: opener.b64,
        broker: group.broker,
        judge: group.judge,
        at: Date.now()
      })
    })
    this.c.logger.info('joined the WhoPay group', { broker: group.broker, judge: group.judge, group: group.hash })
    return { gpk: group.gpk, memberKey }
  }
}
