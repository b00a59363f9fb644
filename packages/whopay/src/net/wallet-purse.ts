// The purse: one Ed25519 key per node that deposits credit at the broker (its
// books name the purse key, never the holder). Withdrawing moves purse money to
// this node's account, signed by the purse key and sent under the node's
// long-term identity: the one place a holder links itself to its money.
import { ErrorCode, fail, isUint } from '@p2pay/core'
import type { WithdrawResult } from '../core/ledger-records.ts'
import { isValue } from '../core/messages.ts'
import { LEDGER_PROTOCOL } from './protocols.ts'
import { asHolder, type WalletContext } from './wallet-context.ts'

/** The purse key id, made and written at first use. */
export async function purseKey(w: WalletContext): Promise<string> {
  const kept = w.wallet.t.purse.get('purse')
  if (kept != null) return kept.key
  return await w.store.apply(() => w.wallet.purse().key)
}

/** Moves `amount` (default: all the purse holds) from the purse to this node's account. */
export async function withdraw(w: WalletContext, amountIn?: unknown): Promise<WithdrawResult> {
  const amount = amountIn ?? (await purseBalance(w))
  if (!isValue(amount)) fail(ErrorCode.BAD_REQUEST, 'amount must be a positive amount (the purse may be empty)')
  await purseKey(w)
  const env = w.wallet.withdrawal(w.me, amount)
  return await w.broker.call<WithdrawResult>(
    w.c.broker,
    'withdraw',
    { env },
    { kind: 'whopay-deposit', timeoutMs: 15_000 }
  )
}

/** The purse's balance at the broker (0 for a purse nothing was deposited to), asked from a fresh identity. */
export async function purseBalance(w: WalletContext): Promise<number> {
  const p = w.wallet.t.purse.get('purse')
  if (p == null) return 0
  const r = await asHolder(
    w,
    async anon =>
      await anon.call<{ balance?: unknown }>(
        w.c.broker,
        LEDGER_PROTOCOL,
        'purse',
        { purse: p.key },
        {
          kind: 'whopay-deposit'
        }
      )
  )
  return isUint(r.balance) ? r.balance : 0
}
