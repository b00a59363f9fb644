// A node as the owner of the coins it bought. It answers `transfer` (a holder,
// from a fresh identity, asks it to pass the coin on to a payee's fresh key):
// the coin-key signature and the group signature (worker pool) against the
// bytes received, its own record (the request is by the current holder at the
// current seq; the same request again gets the same binding; another one by
// that key at that seq is a double spend, reported to the broker), and in real
// time the coin's state in the DHT; then it signs the binding, stores it,
// publishes it, and answers. The owner acts under its long-term identity.
import { ErrorCode, P2payError, fail, sha256Hex, toB64 } from '@p2pay/core'
import { openBinding, openCoinCert, openShown, signAnswer, type CoinBinding, type ShownCoin } from '../core/coin.ts'
import type { Evidence } from '../core/evidence.ts'
import { TAG } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { compareState } from './coin-state-record.ts'
import type { OwnedCoin } from './tables.ts'
import type { WalletContext } from './wallet-context.ts'

const KIND: WhopayKind = 'whopay-transfer'

/** Answers a holder's transfer request with the owner's binding at seq + 1. */
export async function answerTransfer(w: WalletContext, args: Record<string, unknown>): Promise<{ binding: string }> {
  const broker = w.c.broker.id
  const s = openShown(
    w.c.verifier,
    { cert: args.cert, binding: args.binding, request: args.request },
    { broker },
    TAG.transfer,
    KIND
  )
  const coin = s.cert.coin
  if (s.cert.owner !== w.me) fail(ErrorCode.WRONG_OWNER, 'this node does not own that coin')
  const o = w.t.owned.get(coin)
  if (o?.cert == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node has no record of that coin')
  await verifyGroup(w, s)
  const pos = s.request.body.seq
  const hash = sha256Hex(s.request.env)
  const signed = { env: toB64(s.request.env), group: toB64(s.request.group) }
  const known = sameGen(o, s) ? o.answered[String(pos)] : undefined
  if (known?.hash === hash && known.binding != null) return { binding: known.binding }
  if (known != null)
    await refuseDoubleSpend(w, { cert: s.cert.b64, a: known.signed, b: signed, ...withBinding(s.binding) })
  if (w.states.realtime) {
    const view = await w.states.check(coin)
    const n = view.newest
    const here = { gen: s.cert.gen, at: pos }
    if (n != null && compareState(n, here) === 0 && n.answers !== hash && n.signed != null)
      await refuseDoubleSpend(w, { cert: s.cert.b64, a: n.signed, b: signed, ...withBinding(s.binding) })
    if (n != null && compareState(n, here) > 0)
      fail(ErrorCode.STALE_SEQ, 'the coin moved on from that seq (its state in the DHT)', { seq: n.at + 1 })
  }
  const b = await w.store.apply(() => {
    const now = w.t.owned.get(coin)!
    const again = sameGen(now, s) ? now.answered[String(pos)] : undefined
    if (again?.hash === hash && again.binding != null) return again.binding
    if (again != null) fail(WhopayErrorCode.COIN_SPENT, 'the coin moved while this request was checked')
    const cur = current(now, s)
    if (pos < cur.seq) fail(ErrorCode.STALE_SEQ, `the coin is at seq ${cur.seq}`, { seq: cur.seq })
    if (pos === cur.seq && pos > 0 && s.binding?.holder !== cur.holder)
      fail(ErrorCode.WRONG_HOLDER, 'the binding shown is not the one this owner knows at that seq')
    const bnd = signAnswer(w.c.signer, 'owner', s.cert, s.request, KIND)
    w.t.owned.set(coin, {
      ...cur,
      seq: bnd.seq,
      holder: bnd.holder,
      binding: bnd.b64,
      answered: { ...cur.answered, [String(pos)]: { hash, signed, binding: bnd.b64 } }
    })
    return bnd.b64
  })
  await w.states.publish({ cert: s.cert.b64, env: b }).catch(err => w.log.child('owner').warn('not published', { err }))
  return { binding: b }
}

const sameGen = (o: OwnedCoin, s: ShownCoin): boolean => o.gen === s.cert.gen

/**
 * The owner's record brought up to what the shown coin proves: a later generation (the broker renewed it) or a
 * later seq (the broker's downtime path) is adopted from the certificate and binding shown.
 */
function current(o: OwnedCoin, s: ShownCoin): OwnedCoin {
  if (s.cert.gen < o.gen) fail(WhopayErrorCode.WRONG_GEN, `the coin is at generation ${o.gen}`)
  const b = s.binding
  if (s.cert.gen > o.gen) {
    if (b == null) fail(WhopayErrorCode.WRONG_GEN, 'a later generation comes with its binding')
    return {
      ...o,
      cert: s.cert.b64,
      gen: s.cert.gen,
      expiry: s.cert.expiry,
      seq: b.seq,
      holder: b.holder,
      binding: b.b64,
      answered: {}
    }
  }
  if (b != null && b.seq > o.seq) return adoptBinding(o, b)
  return o
}

/** Adopts a binding at a later seq than the owner knew (the broker signed it while the owner was away). */
export function adoptBinding(o: OwnedCoin, b: CoinBinding): OwnedCoin {
  const a = b.answered
  const answered =
    a != null && b.request != null && b.group != null
      ? {
          ...o.answered,
          [String(b.seq - 1)]: { hash: a.hash, signed: { env: b.request, group: b.group }, binding: b.b64 }
        }
      : o.answered
  return { ...o, seq: b.seq, holder: b.holder, binding: b.b64, answered }
}

const withBinding = (b?: CoinBinding): { bindings?: string[] } => (b != null ? { bindings: [b.b64] } : {})

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
  throw new P2payError(ErrorCode.FRAUD, 'this key already spent the coin at that seq', r ?? {})
}

/** Hands evidence to the broker; what it convicted, or undefined when it could not be reached. */
export async function reportEvidence(
  w: WalletContext,
  evidence: unknown
): Promise<{ fraud: string; cheater?: string } | undefined> {
  try {
    const r = await w.broker.call<{ fraud: string; cheater?: string }>(
      w.c.broker,
      'report',
      { evidence },
      { kind: 'whopay-open', timeoutMs: 60_000 }
    )
    w.log.child('owner').warn('double spend reported', { fraud: r.fraud, cheater: r.cheater })
    return r
  } catch (err) {
    w.log.child('owner').warn('a double spend found, not reported yet', { err })
    return undefined
  }
}

/** Opens a certificate and binding the broker sent about one of this owner's coins. */
export function openFromBroker(
  w: WalletContext,
  cert: unknown,
  binding: unknown
): { cert: ReturnType<typeof openCoinCert>; binding?: CoinBinding } {
  const c = openCoinCert(w.c.verifier, cert, { broker: w.c.broker.id }, KIND)
  return { cert: c, binding: binding != null ? openBinding(w.c.verifier, binding, c, KIND) : undefined }
}
