// The judge's WhoPay service: it holds the group's opening key. At its first start it draws the opener part and
// key and keeps them with the signed `whopay/opener` envelope; `params` gives that envelope to anyone; `open` is
// the broker's alone (its peer id from the judge's --broker) and opens only evidence the judge checked itself
// (core/opener.ts), each opening logged and kept. The group's key comes from the broker's own group record, checked
// against the judge's part, at each opening.
import {
  ErrorCode,
  Lifecycle,
  RpcClient,
  dialTarget,
  fail,
  fromB64,
  serveRpc,
  toB64,
  type BaseComponents,
  type Party,
  type Routes,
  type SchemeModule,
  type SchemeService,
  type TablesOf
} from '@p2pay/core'
import { WHOPAY_KINDS, type WhopayKind } from '../kinds.ts'
import { groupPool, type GroupCrypto } from '../core/group-pool.ts'
import type { Opener, OpenerRecord } from '../core/opener.ts'
import { fetchGroup } from './group-client.ts'
import { loadGroupCore, type GroupCore } from './group-core.ts'
import { GROUP_PROTOCOL, OPENER_PROTOCOL } from './group-protocols.ts'
import { OPENER_TABLES } from './group-tables.ts'

export interface OpenerComponents extends BaseComponents<WhopayKind> {
  /** the broker: the only peer that may ask for openings, and whose group record names this judge */
  broker: Party
}

export interface OpenerInit {
  /** worker threads for BBS04 verify and open */
  poolSize?: number
  now?: () => number
}

export class OpenerService implements SchemeService {
  readonly name = 'whopay'
  readonly tables = OPENER_TABLES
  readonly kinds = WHOPAY_KINDS
  readonly life: Lifecycle
  private readonly c: OpenerComponents
  private readonly init: OpenerInit
  private t?: TablesOf<typeof OPENER_TABLES>
  private part?: OpenerRecord
  /** BBS04: a judge draws or reads its opener key at start */
  private core?: GroupCore
  private crypto?: GroupCrypto
  private readonly brokerClient: RpcClient<WhopayKind>

  constructor(components: OpenerComponents, init: OpenerInit = {}) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
    this.brokerClient = new RpcClient<WhopayKind>(components.network, dialTarget(components.broker), GROUP_PROTOCOL)
  }

  private get tablesOrFail(): TablesOf<typeof OPENER_TABLES> {
    if (this.t == null) throw new Error('the WhoPay opener is not started')
    return this.t
  }

  async start(): Promise<void> {
    const t = (this.t = await this.c.store.tables(OPENER_TABLES))
    const { bbs, opener: openers } = (this.core = await loadGroupCore())
    let kept = t.key.get('key')
    if (kept == null) {
      // drawn here, once: the broker never sees the key, only the signed part
      const { part, openerKey } = bbs.openerSetup()
      const record = openers.signOpenerPart(this.c.signer, part)
      const fresh = { key: toB64(bbs.encodeOpenerKey(openerKey)), envelope: record.b64, at: Date.now() }
      await this.c.store.apply(() => t.key.set('key', fresh))
      this.c.logger.info('WhoPay opener key made', { opener: record.hash })
      kept = fresh
    }
    this.part = openers.openOpenerPart(this.c.verifier, kept.envelope, this.c.signer.peerId)
    await serveRpc(
      this.c.network,
      OPENER_PROTOCOL,
      {
        params: () => ({ opener: this.part!.b64 }),
        open: async (args, { remotePeer, signal }) => {
          if (remotePeer !== this.c.broker.id) fail(ErrorCode.UNAUTHORIZED, 'only the broker asks the judge to open')
          const opener = await this.openerFor(signal)
          const c = await opener.open(args?.evidence, async change => await this.c.store.apply(change))
          this.c.logger.info('WhoPay opening', { case: c.case, coin: c.coin, seq: c.seq, members: c.members })
          return { case: c.case, openings: c.openings }
        }
      },
      {
        metrics: this.c.metrics,
        kindOf: () => 'whopay-open',
        life: this.life,
        onError: (err, op) => this.c.logger.error('opener rpc handler failed', { op, err })
      }
    )
    this.c.metrics.gauge('whopay_openings', () => t.openings.size, 'WhoPay cases the judge opened')
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(OPENER_PROTOCOL)
    await this.life.stop()
    await this.brokerClient.close()
    await this.crypto?.close()
  }

  /**
   * The rules on the broker's group as it is now: fetched and checked at every opening (they are rare), so a group
   * the broker set up again on this judge's part is never judged against a stale key.
   */
  private async openerFor(signal?: AbortSignal): Promise<Opener> {
    const part = this.part!
    // workers only once there is something to open: most judges never do
    this.crypto ??= groupPool(this.init.poolSize)
    const { group, opener } = await fetchGroup(this.brokerClient, this.c.verifier, this.c.broker.id, part.judge, signal)
    if (opener.hash !== part.hash) fail(ErrorCode.BAD_REQUEST, "the broker's group is not on this judge's opener part")
    return new this.core!.opener.Opener({ openings: this.tablesOrFail.openings }, this.c.signer, this.c.verifier, {
      broker: this.c.broker.id,
      gpk: group.gpk,
      openerKey: fromB64(this.tablesOrFail.key.get('key')!.key),
      crypto: this.crypto,
      now: this.init.now ?? Date.now,
      metrics: this.c.metrics
    })
  }

  routes(): Routes {
    return {
      'GET /openings': async () => {
        await this.c.store.barrier()
        const cases = [...this.tablesOrFail.openings.values()].sort((x, y) => x.at - y.at)
        return { opener: this.part?.hash, openings: cases }
      }
    }
  }

  status(): Record<string, unknown> {
    return { opener: this.part?.hash ?? null, openings: this.t?.openings.size ?? 0 }
  }
}

/** The judge's side of WhoPay: the opener key, and openings of checked double spends. */
export function whopayOpener(init: OpenerInit = {}): (components: OpenerComponents) => OpenerService {
  return components => new OpenerService(components, init)
}

/** How `p2pay judge` hosts WhoPay: no flags of its own (the broker is the judge's --broker). */
export const whopayOpenerModule = {
  name: 'whopay',
  options: {},
  create: () => whopayOpener()
} satisfies SchemeModule<unknown, OpenerComponents>
