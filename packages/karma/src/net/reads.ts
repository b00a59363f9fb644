// A member's signed answer to a balance read: the reader takes the value a
// strict majority of the bank signed for its fresh challenge.
import { checkPeerId } from '@p2pay/core'
import { checkChallenge } from '../core/state-messages.ts'
import type { KarmaContext } from './context.ts'

export async function balanceAnswer(
  ctx: Pick<KarmaContext, 'member' | 'store'>,
  accountArg: unknown,
  challengeArg: unknown,
  asker: string
): Promise<{ answer: string }> {
  const account = checkPeerId(accountArg, 'account')
  const challenge = checkChallenge(challengeArg)
  await ctx.store.barrier() // never answer with a change that is not on disk yet
  return { answer: ctx.member.balanceOf(account, asker, challenge) }
}
