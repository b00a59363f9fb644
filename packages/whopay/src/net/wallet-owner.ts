// A node as the owner of the coins it bought. It answers `transfer` (a holder,
// from a fresh identity, asks it to pass the coin on to a payee's fresh key):
// the coin-key signature and the group signature (worker pool) against the
// bytes received, its book (the request is by the current holder at the
// current seq; the same request again gets the same binding; another one by
// that key at that seq is a double spend, reported to the broker), and in real
// time the coin's state in the DHT, whose bindings it adopts first; then the
// book signs the binding, it is stored, published, and answered. The owner
// acts under its long-term identity.
import { ErrorCode, P2payError, fail, toB64 } from '@p2pay/core'
import { openShown, type ShownCoin } from '../core/coin.ts'
import type { Evidence } from '../core/evidence.ts'
import { TAG } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { compareState, ownerVerdict } from './coin-state-record.ts'
import type { WalletContext } from './wallet-context.ts'
import { outboxOf } from './wallet-evidence.ts'

const KIND: WhopayKind = 'whopay-transfer'

/** Answers a holder's transfer request with the owner's binding at seq + 1. */
export async function answerTransfer(
  w: WalletContext,
  args: Record<string, unknown>,
  from: string
): Promise<{ binding: string }> {
  const broker = w.c.broker.id
  const input = { cert: args.cert, binding: args.binding, request: args.request }
  const s = openShown(w.c.verifier, input, { broker }, TAG.transfer, KIND)
  const coin = s.cert.coin
  if (s.cert.owner !== w.me) fail(ErrorCode.WRONG_OWNER, 'this node does not own that coin')
  const known = w.owner.coin(coin)
  await verifyGroup(w, s)
  // a later generation: the broker renewed the coin, its binding of the new generation comes with it
  if (s.cert.gen > known.gen && s.binding?.by === 'broker')
    await w.store.apply(() => w.owner.adopt(s.binding!.b64, s.cert.b64))
  if (w.states.realtime) await checkDht(w, s)
  let b
  try {
    b = await w.store.apply(() => w.owner.transfer(s))
  } catch (err) {
    if (err instanceof P2payError && err.code === ErrorCode.FRAUD && err.details?.evidence != null)
      await refuseDoubleSpend(w, err.details.evidence as Evidence)
    throw err
  }
  await w.states
    .publish({ cert: s.cert.b64, env: b.b64 })
    .catch(err => w.log.child('owner').warn('coin state not published', { err }))
  // the owner's log names the remote peer that asked: a holder's fresh identity
  w.log.child('owner').info('transferred', { coin, seq: b.seq, from })
  return { binding: b.b64 }
}

/**
 * The coin's state in the DHT: a binding there (the broker's downtime path, or the owner's own) is adopted, so a
 * request that conflicts with it is the book's FRAUD; a broker's `spent` at the request's place by another request
 * is evidence; a `spent` of the request's generation at any seq refuses it.
 */
async function checkDht(w: WalletContext, s: ShownCoin): Promise<void> {
  const n = (await w.states.check(s.cert.coin)).newest
  if (n == null) return
  if (n.gen > s.cert.gen) fail(WhopayErrorCode.WRONG_GEN, `the coin was renewed to generation ${n.gen}`)
  const here = { gen: s.cert.gen, at: s.request.body.seq }
  const signed = { env: toB64(s.request.env), group: toB64(s.request.group) }
  if (n.kind === 'binding' && n.gen === s.cert.gen) {
    let learnt
    try {
      learnt = await w.store.apply(() => w.owner.adopt(n.wire.env))
    } catch (err) {
      w.log.child('owner').debug('a coin state not adopted', { coin: n.coin, err })
    }
    if (learnt?.evidence != null) await refuseDoubleSpend(w, learnt.evidence)
    return
  }
  if (n.kind === 'spent' && compareState(n, here) === 0 && n.signed != null && n.signed.env !== signed.env)
    await refuseDoubleSpend(w, { cert: s.cert.b64, a: n.signed, b: signed })
  // spent at an older seq too: the chain past it hands on a coin already cashed (its request there was the
  // holder's double spend when this book answered another one at that place)
  const v = ownerVerdict(n, s.cert.gen, (gen, seq) => w.owner.coin(s.cert.coin).answered[`${gen}|${seq}`])
  if (v.spent) {
    const r = v.evidence != null ? await reportEvidence(w, v.evidence) : undefined
    fail(WhopayErrorCode.COIN_SPENT, 'the coin was deposited or renewed (its state in the DHT)', r ?? {})
  }
}

async function verifyGroup(w: WalletContext, s: ShownCoin): Promise<void> {
  const m = await w.group.join(w.life.signal)
  for (const g of s.groups) {
    w.c.metrics.verified(KIND)
    if (!(await w.crypto.verify(m.gpk, g.digest, g.sig)))
      fail(WhopayErrorCode.BAD_GROUP_SIGNATURE, "the request's group signature does not verify")
  }
}

/** Reports a double spend to the broker (under the long-term identity) and refuses the request FRAUD. */
async function refuseDoubleSpend(w: WalletContext, evidence: Evidence): Promise<never> {
  const r = await reportEvidence(w, evidence)
  throw new P2payError(ErrorCode.FRAUD, 'this key already spent the coin at that seq', r ?? { evidence })
}

/**
 * Hands evidence to the broker, kept on disk first (wallet-evidence.ts: the retry loop sends it again while the
 * broker cannot be reached); what it convicted, or undefined when it could not be reached.
 */
export async function reportEvidence(
  w: WalletContext,
  evidence: unknown
): Promise<{ fraud: string; cheater?: string } | undefined> {
  return await outboxOf(w).report(evidence)
}
