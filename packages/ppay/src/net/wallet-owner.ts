// What a node answers as a payee and as a coin owner: `deliver` (a payer or an
// owner hands it a coin proof) and `reassign` (a holder asks it, the owner, to
// assign its coin on to a payee).
import { ErrorCode, P2payError, fail, serveRpc, textOf } from '@p2pay/core'
import { PROTOCOL, type CoinProof } from '../core/types.ts'
import { deliver, MAX_DELIVER_BATCH, type DeliveryResult } from './wallet-deliveries.ts'
import { sync } from './wallet-sync.ts'
import { chunkBySize, proofBytes } from './frame-size.ts'
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
      },
      deliverMany: async (args, { remotePeer, kind }) => await acceptMany(w, args.proofs, remotePeer, kind)
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
      },
      reassignMany: async args => {
        const toAddrs = Array.isArray(args.toAddrs) ? args.toAddrs.slice(0, 8).map(textOf) : []
        return await answerReassignMany(w, args.items, toAddrs)
      }
    },
    opts
  )
}

/**
 * Payee side of a `deliverMany`: every proof is checked and accepted on its
 * own (a bad one is refused alone), all in one batch on disk before the answer.
 */
async function acceptMany(
  w: WalletContext,
  proofs: unknown,
  from: string,
  kind = 'pay'
): Promise<{ results: DeliveryResult[] }> {
  if (!Array.isArray(proofs) || proofs.length === 0 || proofs.length > MAX_DELIVER_BATCH)
    fail(ErrorCode.BAD_REQUEST, `proofs must be a list of 1..${MAX_DELIVER_BATCH}`)
  const results = await w.store.apply(() =>
    proofs.map((proof): DeliveryResult => {
      try {
        // accept checks everything before it changes anything: a refused proof leaves no trace
        const { holding, duplicate } = w.wallet.accept(proof, from, kind)
        return { sn: holding.sn, value: holding.value, duplicate }
      } catch (err) {
        if (!(err instanceof P2payError)) throw err
        return { error: err.toJSON() }
      }
    })
  )
  const fresh = results.filter(r => 'duplicate' in r && !r.duplicate) as Array<{ value: number }>
  if (fresh.length > 0) {
    const value = fresh.reduce((n, r) => n + r.value, 0)
    w.log.child('owner').info('paid', { from, coins: fresh.length, value })
  }
  return { results }
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
  const to = r.to
  let delivered = false
  try {
    await deliver(w, to, toAddrs, r.proof, 'reassign')
    delivered = true
  } catch (err) {
    w.log.child('owner').warn('payee unreachable; the holder will deliver', { to, err })
  }
  return { proof: r.proof, delivered }
}

/** One holder's answer to one request of a `reassignMany`. */
export type ReassignResult =
  { proof: CoinProof; delivered: boolean } | { error: { code: string; message: string; details?: unknown } }

/**
 * Owner side of `reassignMany`: every request is honoured or refused on its
 * own, the new assignments signed as one batch and written in one; they go
 * to each payee in one frame, and the holder gets them all in one answer.
 */
async function answerReassignMany(
  w: WalletContext,
  items: unknown,
  toAddrs: string[]
): Promise<{ results: ReassignResult[] }> {
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_DELIVER_BATCH)
    fail(ErrorCode.BAD_REQUEST, `items must be a list of 1..${MAX_DELIVER_BATCH} {proof, request}`)
  const asked = items.map(it => ({ proof: it?.proof, request: it?.request }))
  const done = await w.store.apply(() => w.wallet.ownerReassignMany(asked))
  const results: ReassignResult[] = done.map(r =>
    'error' in r ? { error: r.error.toJSON() } : { proof: r.proof, replay: r.replay, delivered: false }
  )
  // payees, as the assignments just made name them (on a replay the step may be the broker's, which this owner adopted)
  const byPayee = new Map<string, number[]>()
  done.forEach((r, i) => {
    if (!('error' in r)) byPayee.set(r.to, [...(byPayee.get(r.to) ?? []), i])
  })
  const size = (i: number): number => proofBytes((results[i] as { proof: CoinProof }).proof)
  const calls = [...byPayee].flatMap(([to, idx]) => chunkBySize(idx, size).map(part => [to, part] as const))
  await Promise.all(
    calls.map(async ([to, idx]) => {
      const proofs = idx.map(i => (results[i] as { proof: CoinProof }).proof)
      try {
        w.payees.learn(to, toAddrs)
        const opts = { timeoutMs: w.init.ownerTimeoutMs * 2, kind: 'reassign' as const }
        const res = await w.payees.call<{ results: unknown[] }>(to, 'deliverMany', { proofs }, opts)
        idx.forEach((i, j) => {
          const a = res?.results?.[j]
          if (a != null && typeof a === 'object' && !('error' in a))
            (results[i] as { delivered: boolean }).delivered = true
        })
      } catch (err) {
        w.log.child('owner').warn('payee unreachable; the holders will deliver', { to, count: idx.length, err })
      }
    })
  )
  return { results }
}
