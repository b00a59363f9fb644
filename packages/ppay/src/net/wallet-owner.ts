// What a node answers as a payee and as a coin owner: `deliver` (a payer or an
// owner hands it a coin proof) and `reassign` (a holder asks it, the owner, to
// assign its coin on to a payee).
import { ErrorCode, P2payError, serveRpc, textOf } from '@p2pay/core'
import { decodeEnvelope } from '../core/verify.ts'
import { PROTOCOL, TAG, type CoinProof } from '../core/types.ts'
import { deliver } from './wallet-deliveries.ts'
import { sync } from './wallet-sync.ts'
import type { WalletContext } from './wallet-context.ts'

/** Registers the payee's and the owner's protocols. */
export async function serveWallet(w: WalletContext): Promise<void> {
  const opts = {
    metrics: w.c.metrics,
    life: w.life,
    onError: (err: Error, op?: string) => w.log.child('owner').error('rpc handler failed', { op, err })
  }
  await serveRpc(
    w.c.network,
    PROTOCOL.pay,
    {
      deliver: async (args, { remotePeer, kind }) => {
        const { holding, duplicate } = await w.store.apply(() => w.wallet.accept(args.proof, remotePeer, kind))
        if (!duplicate) {
          const { sn, value, seq, depth } = holding
          w.log.child('owner').info('paid', { sn, value, from: remotePeer, seq, depth })
        }
        return { sn: holding.sn, value: holding.value, duplicate }
      }
    },
    opts
  )
  await serveRpc(
    w.c.network,
    PROTOCOL.reassign,
    {
      reassign: async args => {
        const toAddrs = Array.isArray(args.toAddrs) ? args.toAddrs.slice(0, 8).map(textOf) : []
        return await answerReassign(w, args.proof, args.request, toAddrs)
      }
    },
    opts
  )
}

export async function unserveWallet(w: WalletContext): Promise<void> {
  await w.c.network.unhandle([PROTOCOL.pay, PROTOCOL.reassign])
}

/**
 * Owner side: honour the request, then deliver the new assignment to the
 * payee (message 2) and answer the old holder with a copy (message 3).
 */
async function answerReassign(
  w: WalletContext,
  proof: CoinProof,
  request: string,
  toAddrs: string[]
): Promise<{ proof: CoinProof; delivered: boolean }> {
  let r
  try {
    r = await w.store.apply(() => w.wallet.ownerReassign(proof, request))
  } catch (err) {
    // a holder ahead of us means the broker reassigned while we were away: sync, then retry once
    if (!(err instanceof P2payError && err.code === ErrorCode.STALE_SEQ)) throw err
    await sync(w).catch(() => {})
    r = await w.store.apply(() => w.wallet.ownerReassign(proof, request))
  }
  const last = r.proof.chain!.at(-1)!
  // on a replay the step may be the broker's (downtime) assignment this owner adopted
  const to = w.c.verifier.open<{ holder: string }>(
    decodeEnvelope(last.assign, 'assignment'),
    [TAG.assign, TAG.downtimeAssign],
    'reassign'
  ).body.holder
  let delivered = false
  try {
    await deliver(w, to, toAddrs, r.proof, 'reassign')
    delivered = true
  } catch (err) {
    w.log.child('owner').warn('payee unreachable; the holder will deliver', { to, err })
  }
  return { proof: r.proof, delivered }
}
