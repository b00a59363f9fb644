// A member of bank(peer) opens a joining peer's account with the initial
// karma. A member without a synced row first asks the old bank (mayOpen): a
// join proof can be replayed to a member that entered bank(peer) after the
// account was used, and must not mint there.
import { ErrorCode, P2payError, fail } from '@p2pay/core'
import { oldBankOf, oldBankSaysNew } from '../core/handover.ts'
import { openJoin } from '../core/state-messages.ts'
import { KarmaErrorCode } from '../errors.ts'
import { withFreshView, type KarmaContext } from './context.ts'
import type { HandOver } from './handover.ts'

export async function join(
  ctx: KarmaContext,
  handover: HandOver,
  proof: unknown
): Promise<{ account: string; balance: number; opened: boolean }> {
  const { member, cfg } = ctx
  const peer = openJoin(ctx.verifier, proof).body.peer
  return await withFreshView(ctx, [peer], async ([bank]) => {
    if (!member.isSynced(peer)) await mayOpen(ctx, handover, peer, bank)
    return await ctx.store.apply(() =>
      member.openAccount(proof, cfg.initialKarma, cfg.powBits, bank, !member.isSynced(peer))
    )
  })
}

/**
 * Before minting, the old bank of `peer` (the k peers nearest its key
 * without this member, from the cached view and the Karma peers that went out
 * of sight lately) is asked for its state. A state a strict majority of it
 * signed is adopted, and the join then opens nothing. Without one, the join
 * may mint only if the old bank says the account is new (oldBankSaysNew);
 * otherwise it is refused for now (the joiner retries, a hand-over settles
 * the row). The peers out of sight cannot answer: in a half of a partition
 * cut off from most of an account's bank, the peers nearest its key there
 * are new to it too, and their "no such account" must not mint it again.
 */
async function mayOpen(ctx: KarmaContext, handover: HandOver, peer: string, bank: readonly string[]): Promise<void> {
  const { member, cfg } = ctx
  const near = [...(await ctx.view.candidates(peer)), ...(ctx.view.away?.() ?? [])]
  const old = oldBankOf(peer, [...new Set(near)], ctx.me, cfg.k)
  // too few Karma peers in sight (a start, a partition) to name an old bank: not a refusal of the join (no vote)
  if (old.length < cfg.k)
    fail(ErrorCode.UNREACHABLE, `only ${old.length} Karma peers in sight besides this member: no old bank of ${peer}`, {
      account: peer,
      sync: true
    })
  const answers = await handover.askOldBank(peer, old)
  try {
    await ctx.store.apply(() => member.adoptState(peer, answers.pages.flat(), old, bank))
    return
  } catch (err) {
    if (!(err instanceof P2payError && err.code === ErrorCode.NOT_FOUND)) throw err
  }
  const q = { account: peer, me: ctx.me, initialKarma: cfg.initialKarma, epoch: member.epoch().epoch }
  const said = oldBankSaysNew(ctx.verifier, answers.pages, answers.absent, { ...q, needed: member.needed })
  if (!said.isNew) {
    fail(
      KarmaErrorCode.NO_MAJORITY,
      `the old bank of ${peer} neither agrees on its state nor says the account is new: not opened here for now`,
      { absent: said.absent, justOpened: said.justOpened, needed: said.needed }
    )
  }
}
