// Karma on the wire: one protocol for every bank duty and every account-holder
// call, and the dispatcher from its ops to the parts of the service that
// answer them (kad-dht's rpc/index.ts style).
import { ErrorCode, fail, type RpcHandler } from '@p2pay/core'
import type { AccountHolder } from './account.ts'
import type { BankDuties } from './bank-duties.ts'
import type { EpochService } from './epoch-service.ts'

/** Every bank duty and every account-holder call goes over this one protocol. */
export const KARMA_PROTOCOL = '/p2pay/karma/1.0.0'

export const KARMA_OPS = [
  'join',
  'debit',
  'notice',
  'noticeOf',
  'credited',
  'awaitCredit',
  'digest',
  'requestsAfter',
  'creditsTo',
  'balance',
  'state',
  'handoff',
  'receipt',
  'creditReceipt',
  'creditsOf',
  'heartbeat',
  'report',
  'factor',
  'many'
] as const
export type KarmaOp = (typeof KARMA_OPS)[number]

/** one-way ops whose messages may share a frame (`many`, Peers.post) */
export const BATCHABLE_OPS: readonly string[] = ['notice'] satisfies KarmaOp[]
export type BatchableOp = 'notice'
/** messages in one `many` frame at most (a notice is about 1.5 KiB: well under the RPC frame limit) */
export const MAX_BATCH = 64

/**
 * The handler of each op (a table the service serves, and calls itself through for this node). `served`: the table
 * the service serves once these are copied in (`many` passes each message to the handler there at the time, so a
 * handler replaced in it, as the test swarms' cheats do, takes the messages that share frames too).
 */
export function karmaHandlers(
  duties: BankDuties,
  holder: AccountHolder,
  epochs: EpochService,
  callTimeoutMs: number,
  served?: Readonly<Record<string, RpcHandler>>
): Record<KarmaOp, RpcHandler> {
  const handlers = opHandlers(duties, holder, epochs, callTimeoutMs)
  // a member back from a freeze notices it before it answers anything queued meanwhile (reconcile.ts)
  for (const op of KARMA_OPS) {
    const h = handlers[op]
    handlers[op] = async (a, c) => {
      duties.reconcile.check()
      return await h(a, c)
    }
  }
  // one-way messages that shared a frame (Peers.post): each goes to its op's handler as if it had come alone
  handlers.many = async (a, c) => {
    if (!BATCHABLE_OPS.includes(a.op) || !Array.isArray(a.list) || a.list.length > MAX_BATCH)
      fail(ErrorCode.BAD_REQUEST, `many carries at most ${MAX_BATCH} messages of ${BATCHABLE_OPS.join(', ')}`)
    const h = (served ?? handlers)[a.op as BatchableOp]
    await Promise.allSettled(a.list.map(async (item: unknown) => await h(item, c)))
  }
  return handlers
}

function opHandlers(
  duties: BankDuties,
  holder: AccountHolder,
  epochs: EpochService,
  callTimeoutMs: number
): Record<KarmaOp, RpcHandler> {
  return {
    // bank(A) and bank(B)
    join: async a => await duties.join(a.proof),
    debit: async a => await duties.debits.debit(a.request),
    notice: async (a, { remotePeer }) => await duties.credits.notice(a.notice, remotePeer),
    noticeOf: a => duties.credits.noticeOf(a.requestHash),
    credited: a => duties.credits.credited(a.hashes),
    awaitCredit: async a =>
      await duties.credits.awaitCredit(a.requestHash, Number.isSafeInteger(a.waitMs) ? a.waitMs : callTimeoutMs),
    balance: async (a, { remotePeer }) => await duties.balance(a.account, a.challenge, remotePeer),
    // members of one bank agreeing again
    digest: a => duties.sync.digest(a.accounts),
    requestsAfter: a => duties.sync.requestsAfter(a.account, a.after),
    creditsTo: a => duties.sync.creditsTo(a.account),
    // hand-overs
    state: async (a, { remotePeer }) => await duties.handover.exportState(a.account, remotePeer),
    handoff: a => duties.handover.handoff(a.account),
    // the account holder, as payee and payer
    receipt: async a => await holder.acceptReceipt(a),
    creditReceipt: a => {
      holder.takeCreditReceipt(a.receipt)
    },
    creditsOf: a => holder.creditsOf(a.hashes),
    // epochs
    heartbeat: async a => await epochs.takeHeartbeat(a.heartbeat),
    report: async (a, { remotePeer }) => await epochs.takeReport(a.report, remotePeer),
    factor: a => epochs.factor(a.epoch, a.attempt ?? 0),
    many: () => {} // set in karmaHandlers, over the wrapped handlers
  }
}
