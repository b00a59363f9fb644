// The owner's side of a wallet: its audit trail of the assignments it (or the
// broker for it) signed, the checks before it honours a reassignment request,
// and the broker's downtime log applied to it. Pure functions over the
// wallet's tables; the Wallet calls them inside its state changes.
import { PPayErrorCode } from '../errors.ts'
import { ErrorCode, fail, toB64, type Opened, type Verifier } from '@p2pay/core'
import { TAG, type AssignBody, type ChainLink, type CoinProof, type RequestBody } from './types.ts'
import { decodeEnvelope, extendProof, verifyRequest, type ProofInfo } from './verify.ts'
import { pad, type OwnedCoin, type WalletConfig, type WalletTables } from './wallet-records.ts'

/** What the owner's functions read and write: the wallet's tables, its verifier, settings and peer id. */
export interface OwnerContext {
  t: WalletTables
  verifier: Verifier
  cfg: WalletConfig
  me: string
}

export function trailAdd(
  o: OwnerContext,
  sn: string,
  seq: number,
  holder: string,
  assign: Opened<AssignBody>,
  request: string | null,
  by: 'owner' | 'broker',
  payment?: string
): void {
  o.t.trail.set(`${sn}|${pad(seq)}`, {
    sn,
    seq,
    holder,
    assign: toB64(assign.bytes),
    request,
    by,
    at: o.cfg.now(),
    ...(payment != null ? { payment } : {})
  })
}

/** The coin's history from this owner's trail, seq 1..upTo: evidence for the broker. */
export function chainFromTrail(o: OwnerContext, sn: string, upTo: number): CoinProof | undefined {
  const c = o.t.owned.get(sn)
  if (c == null) return undefined
  const chain: ChainLink[] = []
  for (let seq = 1; seq <= upTo; seq++) {
    const e = o.t.trail.get(`${sn}|${pad(seq)}`)
    if (e == null) return undefined
    chain.push(e.request != null ? { assign: e.assign, request: e.request } : { assign: e.assign })
  }
  return { coin: c.coin, chain }
}

/**
 * Checks one reassignment request against the proof `info` opened: its replay
 * answer, or the assignment to sign (`inCall`: coins already taken in this call).
 */
export function prepareReassign(
  o: OwnerContext,
  info: ProofInfo,
  proof: CoinProof,
  requestB64: string,
  inCall: Set<string>
): { proof: CoinProof; replay: true; to: string } | { cur: OwnedCoin; body: AssignBody } {
  if (info.owner !== o.me) fail(ErrorCode.WRONG_OWNER, 'this node does not own that coin')
  const { request } = verifyRequest(o.verifier, requestB64, info, 'reassign')
  if (inCall.has(info.sn)) fail(ErrorCode.STALE_SEQ, `coin ${info.sn} is already being reassigned`)
  const c = o.t.owned.get(info.sn)
  if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, `owner has no record of coin ${info.sn}`)
  const next = o.t.trail.get(`${info.sn}|${pad(info.seq + 1)}`)
  if (next != null) {
    if (next.request === requestB64)
      return {
        proof: extendProof(proof, { link: { assign: next.assign, request: requestB64 } }),
        replay: true,
        to: next.holder
      }
    fail(ErrorCode.STALE_SEQ, `seq ${info.seq} of coin ${info.sn} was already reassigned`)
  }
  // the requester's history may hold broker (downtime) steps this owner has not synced yet
  for (let seq = c.seq + 1; seq <= info.seq; seq++) {
    const cur = o.t.owned.get(info.sn)!
    const a = info.assigns[seq - 1]
    const r = info.requests[seq - 1]
    if (
      a.tag !== TAG.downtimeAssign ||
      r == null ||
      r.body.from !== cur.holder ||
      r.body.seq !== cur.seq ||
      info.assigns[seq - 2]?.body.holder !== cur.holder
    )
      break
    adoptBrokerAssign(o, cur, a, proof.chain![seq - 1].request!)
  }
  const cur = o.t.owned.get(info.sn)!
  if (info.seq !== cur.seq) fail(ErrorCode.STALE_SEQ, `request is for seq ${info.seq}, current seq is ${cur.seq}`)
  if (info.holder !== cur.holder) fail(ErrorCode.WRONG_HOLDER, 'requester is not the current holder')
  inCall.add(info.sn)
  const body = {
    sn: info.sn,
    coin: info.coin.hash,
    owner: o.me,
    seq: cur.seq + 1,
    holder: request.body.to,
    request: request.hash
  }
  return { cur, body }
}

function adoptBrokerAssign(o: OwnerContext, c: OwnedCoin, assign: Opened<AssignBody>, request: string): void {
  o.t.owned.set(c.sn, {
    ...c,
    seq: assign.body.seq,
    holder: assign.body.holder,
    assign: toB64(assign.bytes),
    assignHash: assign.hash
  })
  trailAdd(o, c.sn, assign.body.seq, assign.body.holder, assign, request, 'broker')
}

/**
 * Applies one entry of the broker's downtime log. When the holder gave the
 * same position to someone else through this owner, returns this owner's
 * history up to that seq: the evidence that convicts the holder.
 */
export function applyDowntime(
  o: OwnerContext,
  entry: { n: number; assign: string; request: string }
): { adopted: boolean; conflict?: CoinProof } {
  const assign = o.verifier.open<AssignBody>(decodeEnvelope(entry.assign, 'assignment'), TAG.downtimeAssign, 'sync')
  if (assign.signer !== o.cfg.broker) fail(ErrorCode.WRONG_SIGNER, 'downtime assignment not signed by the broker')
  const request = o.verifier.open<RequestBody>(decodeEnvelope(entry.request, 'request'), TAG.request, 'sync')
  const a = assign.body
  if (request.hash !== a.request || request.signer !== request.body.from || request.body.to !== a.holder)
    fail(ErrorCode.BAD_REQUEST, 'downtime entry does not hold together')
  const c = o.t.owned.get(a.sn)
  if (c == null || a.owner !== o.me) return { adopted: false }
  const mine = o.t.trail.get(`${a.sn}|${pad(a.seq)}`)
  if (mine != null) {
    if (mine.request === entry.request || mine.assign === entry.assign) return { adopted: false }
    return { adopted: false, conflict: chainFromTrail(o, a.sn, a.seq) }
  }
  if (
    a.seq === c.seq + 1 &&
    request.body.from === c.holder &&
    request.body.seq === c.seq &&
    request.body.prev === c.assignHash
  ) {
    adoptBrokerAssign(o, c, assign, entry.request)
    return { adopted: true }
  }
  return { adopted: false }
}
