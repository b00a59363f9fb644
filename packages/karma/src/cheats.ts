// Deliberately faulty bank members, for test swarms only: a daemon started
// with --allow-cheats mounts POST /v1/karma/cheat/byzantine, and in-process
// tests call `byzantine(service).set(modes)` (from `@p2pay/karma/cheats`).
// Each mode is a wrapper around the running service (a replaced RPC handler,
// an intercepted outgoing notice, or an extra tick), and produces exactly the
// signed objects a real liar would, so detection is tested for real.
import { ErrorCode, checkPeerId, fail, type RpcHandler, type Routes, type Signer } from '@p2pay/core'
import { KIND, type KarmaKind } from './kinds.ts'
import {
  noticeFor,
  openTransfer,
  peekSigned,
  seal,
  TAG,
  type NoticeBody,
  type Signed,
  type TransferBody
} from './core/messages.ts'
import { checkChallenge, makeBalance, makeState, openState } from './core/state-messages.ts'
import type { KarmaContext } from './net/context.ts'
import type { KarmaService } from './net/service.ts'

export const BYZANTINE_MODES = [
  'lie-balance',
  'double-credit',
  'drop',
  'conflict',
  'replay-notices',
  'forge-state'
] as const
/**
 * lie-balance    signs balance answers 1000 above its books
 * double-credit  credits every transfer it credits a second time in its own books
 * drop           takes requests and notices but never passes a notice on (as if lost)
 * conflict       signs two different notices for one request: the true one for
 *                half of bank(B), one with a tenfold amount for the other half
 * replay-notices on every housekeeping beat, for every request it debited,
 *                sends the request to bank(A) again (its honest members sign
 *                the notices again and resend them to bank(B)) and its own
 *                notice to every member of bank(B), however old
 * forge-state    answers state exports (hand-over, resync) with a balance
 *                LIE_OFFSET above its books, signed
 */
export type ByzantineMode = (typeof BYZANTINE_MODES)[number]

export function checkModes(modes: unknown): ByzantineMode[] {
  if (!Array.isArray(modes) || !modes.every(m => (BYZANTINE_MODES as readonly string[]).includes(m))) {
    fail(ErrorCode.BAD_REQUEST, `modes must be a list of ${BYZANTINE_MODES.join(', ')}`)
  }
  return modes as ByzantineMode[]
}

export const LIE_OFFSET = 1000

/** A notice that says something else than the request it carries: signed, so it is evidence against its signer. */
export function conflictingNotice(signer: Signer<KarmaKind>, req: Signed<TransferBody>): string {
  const body = { ...noticeFor(signer.peerId, req), amount: req.body.amount * 10 }
  return seal(signer, TAG.notice, body, KIND.transfer).b64
}

/** The faulty modes of one running service. */
export interface Byzantine {
  readonly modes: ReadonlySet<ByzantineMode>
  /** replaces the modes the service had (none: honest again); returns them */
  set(modes: readonly ByzantineMode[]): ByzantineMode[]
}

const installed = new WeakMap<KarmaService, Byzantine>()

/** The switch of a started service's faulty modes (installed on first use). */
export function byzantine(svc: KarmaService): Byzantine {
  let b = installed.get(svc)
  if (b === undefined) {
    b = install(svc)
    installed.set(svc, b)
  }
  return b
}

/** The cheat routes of a service, mounted under /v1/karma/cheat. */
export function cheatRoutes(svc: KarmaService): Routes {
  return {
    'POST /byzantine': b => ({ byzantine: byzantine(svc).set(checkModes(b.modes)) })
  }
}

function install(svc: KarmaService): Byzantine {
  const ctx = svc.ctx
  const honest: Record<string, RpcHandler> = { ...svc.handlers }
  const modes = new Set<ByzantineMode>()
  interceptNotices(ctx, modes)
  // replay-notices: an extra beat beside the housekeeping tick
  ctx.life.every(ctx.cfg.syncMs, 'replayed notices', async () => {
    if (modes.has('replay-notices')) await replayNotices(ctx)
  })
  const summary = svc.summary.bind(svc)
  svc.summary = () => ({ ...summary(), byzantine: [...modes] })
  return {
    modes,
    set(list) {
      modes.clear()
      for (const m of list) modes.add(m)
      Object.assign(svc.handlers, honest, replacedHandlers(ctx, honest, modes))
      return [...modes]
    }
  }
}

/** The handlers the modes replace: the honest ones wrapped or swapped out. */
function replacedHandlers(
  ctx: KarmaContext,
  honest: Readonly<Record<string, RpcHandler>>,
  modes: ReadonlySet<ByzantineMode>
): Record<string, RpcHandler> {
  const out: Record<string, RpcHandler> = {}
  if (modes.has('double-credit')) {
    out.notice = async (args, rc) => {
      const outcome = (await honest.notice(args, rc)) as { status?: string }
      const n = peekSigned<NoticeBody>(args.notice, TAG.notice)
      // a credit made here on this notice: the same amount once more, in this member's own books only
      if (outcome?.status === 'credited' && n !== undefined) {
        await ctx.store.apply(() => {
          const a = ctx.member.t.accounts.get(n.body.to)!
          ctx.member.t.accounts.set(n.body.to, { ...a, balance: a.balance + n.body.amount })
        })
      }
      return outcome
    }
  }
  if (modes.has('lie-balance')) {
    out.balance = async (args, { remotePeer }) => {
      const account = checkPeerId(args.account, 'account')
      const challenge = checkChallenge(args.challenge)
      await ctx.store.barrier()
      const row = ctx.member.account(account)
      if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
      // the row's own nonce and history with another balance: what no honest member with that history can sign
      const body = {
        account,
        balance: row.balance + LIE_OFFSET,
        nonce: row.nonce,
        asker: remotePeer,
        challenge,
        history: row.history
      }
      return { answer: makeBalance(ctx.signer, { ...body, epoch: ctx.member.epoch().epoch }).b64 }
    }
  }
  if (modes.has('forge-state')) {
    out.state = async (args, { remotePeer: to }) => {
      const account = checkPeerId(args.account, 'account')
      await ctx.store.barrier()
      if (ctx.member.account(account) == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
      const s = openState(ctx.verifier, ctx.member.exportState(account, to), { account, to }).body
      return { state: makeState(ctx.signer, { ...s, balance: s.balance + LIE_OFFSET }).b64 }
    }
  }
  if (modes.has('drop')) {
    const dropped = (): never => fail(ErrorCode.TIMEOUT, 'dropped')
    Object.assign(out, { debit: dropped, notice: dropped, credited: dropped, awaitCredit: dropped })
  }
  return out
}

/**
 * conflict: this member's outgoing notices (one-way after a debit, or resent
 * by the outbox) go to the members at even places of bank(B) with a tenfold
 * amount, to the others as they are.
 */
function interceptNotices(ctx: KarmaContext, modes: ReadonlySet<ByzantineMode>): void {
  const peers = ctx.peers
  const send = peers.send.bind(peers)
  const call = peers.call.bind(peers)
  const forPeer = async (peer: string, op: string, args: any): Promise<any> => {
    if (op !== 'notice' || !modes.has('conflict')) return args
    const n = peekSigned<NoticeBody>(args?.notice, TAG.notice)
    if (n === undefined || n.signer !== ctx.me) return args
    const i = (await ctx.view.bank(n.body.to)).indexOf(peer)
    if (i < 0 || i % 2 !== 0) return args
    return { ...args, notice: conflictingNotice(ctx.signer, openTransfer(ctx.verifier, n.body.request)) }
  }
  peers.send = async (peer, op, args, kind) => await send(peer, op, await forPeer(peer, op, args), kind)
  peers.call = async (peer, op, args, kind, timeoutMs) =>
    await call(peer, op, await forPeer(peer, op, args), kind, timeoutMs)
}

/** replay-notices: every request this member debited, replayed to both banks. */
async function replayNotices(ctx: KarmaContext): Promise<void> {
  const { member, view, peers } = ctx
  for (const d of [...member.t.pending.values()]) {
    try {
      const [bankA, bankB] = await Promise.all([view.bank(d.from), view.bank(d.to)])
      await Promise.allSettled([
        ...bankA
          .filter(m => m !== ctx.me)
          .map(async m => await peers.call(m, 'debit', { request: d.request }, KIND.transfer)),
        ...bankB.map(async m => await peers.call(m, 'notice', { notice: d.notice }, KIND.transfer))
      ])
    } catch {}
  }
}
