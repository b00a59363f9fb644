// Pure verification of PPay objects and coin proofs. No I/O: everything a
// holder, an owner or the broker needs to know about a proof comes from here.
import { PPayErrorCode } from '../errors.ts'
import { ErrorCode, fail, decodeSigned, isHash, isUint, toB64, type Opened, type Verifier } from '@p2pay/core'
import {
  TAG,
  BROKER_SINK,
  MAX_CHAIN,
  posKey,
  type AssignBody,
  type CashBody,
  type ChainLink,
  type CoinBody,
  type CoinProof,
  type LayerBody,
  type RequestBody,
  type Transfer
} from './types.ts'

const MAX_ENVELOPE_B64 = 8192

export const decodeEnvelope = (b64: unknown, what: string): Uint8Array => decodeSigned(b64, what, MAX_ENVELOPE_B64)

/** Peer ids and serials inside signed bodies: their signatures are what binds them; here only their size. */
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128

export function checkCoinBody(b: CoinBody): void {
  if (!isId(b.broker) || !isId(b.owner) || !isId(b.sn) || !isUint(b.value) || b.value === 0 || !isUint(b.expiry))
    fail(ErrorCode.BAD_REQUEST, 'malformed coin')
}

export interface ProofInfo {
  coin: Opened<CoinBody>
  sn: string
  owner: string
  value: number
  expiry: number
  seq: number
  depth: number
  /** current holder: the owner at seq 0 */
  holder: string
  /** the assignment and request of every seq, oldest first */
  assigns: Array<Opened<AssignBody>>
  requests: Array<Opened<RequestBody> | undefined>
  layers: Array<Opened<LayerBody>>
  /** hash of the last link (coin, assignment or layer): what a request, layer or cash points at */
  tipHash: string
  /** every "position given away" the proof contains, oldest first */
  transfers: Transfer[]
}

export interface VerifyOptions {
  broker: string
  now: number
  maxLayers: number
  /** expired coins are still cashable for a grace period */
  allowExpired?: boolean
  kind: string
}

export function verifyCoin(verifier: Verifier, b64: unknown, broker: string, kind: string): Opened<CoinBody> {
  const coin = verifier.open<CoinBody>(decodeEnvelope(b64, 'coin'), TAG.coin, kind)
  checkCoinBody(coin.body)
  if (coin.signer !== broker || coin.body.broker !== broker)
    fail(ErrorCode.WRONG_BROKER, 'coin not signed by this broker')
  return coin
}

/**
 * Verifies a whole proof link by link: every assignment from seq 1 on, each
 * reassignment justified by a request signed by the holder of the seq before,
 * pointing at that holder's assignment; then every layer.
 */
export function verifyProof(verifier: Verifier, proof: CoinProof, opts: VerifyOptions): ProofInfo {
  if (proof == null || typeof proof !== 'object') fail(ErrorCode.BAD_REQUEST, 'proof must be an object')
  const coin = verifyCoin(verifier, proof.coin, opts.broker, opts.kind)
  const { sn, owner, value, expiry } = coin.body
  if (!opts.allowExpired && opts.now > expiry) fail(ErrorCode.EXPIRED, `coin ${sn} expired`)
  const chain: ChainLink[] = proof.chain ?? []
  if (!Array.isArray(chain)) fail(ErrorCode.BAD_REQUEST, 'chain must be a list')
  if (chain.length > MAX_CHAIN) fail(ErrorCode.BAD_REQUEST, `chain longer than ${MAX_CHAIN} steps`)
  const transfers: Transfer[] = []
  const assigns: Array<Opened<AssignBody>> = []
  const requests: Array<Opened<RequestBody> | undefined> = []
  let holder = owner
  let tipHash = coin.hash

  chain.forEach((link, i) => {
    const seq = i + 1
    if (link == null || typeof link !== 'object') fail(ErrorCode.BAD_REQUEST, `chain step ${seq} must be an object`)
    const assign = verifier.open<AssignBody>(
      decodeEnvelope(link.assign, 'assignment'),
      [TAG.assign, TAG.downtimeAssign],
      opts.kind
    )
    const a = assign.body
    if (a.sn !== sn || a.coin !== coin.hash || a.owner !== owner || a.seq !== seq || !isId(a.holder))
      fail(ErrorCode.BAD_REQUEST, `assignment ${seq} does not match its coin`)
    const bySigner = assign.tag === TAG.assign ? owner : opts.broker
    if (assign.signer !== bySigner)
      fail(
        ErrorCode.WRONG_SIGNER,
        `assignment ${seq} of ${sn} not signed by ${assign.tag === TAG.assign ? 'the owner' : 'the broker'}`
      )
    let request: Opened<RequestBody> | undefined
    if (seq === 1) {
      if (a.request !== null || link.request != null || assign.tag !== TAG.assign)
        fail(ErrorCode.BAD_REQUEST, "a first assignment is the owner's own and has no request")
      transfers.push({ pos: '0.0', signer: owner, to: a.holder, hash: assign.hash, bytes: link.assign, kind: 'assign' })
    } else {
      if (!isHash(a.request)) fail(ErrorCode.BAD_REQUEST, `reassignment ${seq} must name the request that justifies it`)
      request = verifier.open<RequestBody>(decodeEnvelope(link.request, 'request'), TAG.request, opts.kind)
      const r = request.body
      if (request.hash !== a.request) fail(ErrorCode.BAD_REQUEST, `request does not match assignment ${seq}`)
      if (r.sn !== sn || r.owner !== owner || r.seq !== seq - 1 || r.to !== a.holder)
        fail(ErrorCode.BAD_REQUEST, `request does not justify assignment ${seq}`)
      if (r.from !== holder || request.signer !== holder || r.prev !== tipHash)
        fail(ErrorCode.WRONG_HOLDER, `reassignment ${seq} was not asked for by the holder of seq ${seq - 1}`)
      transfers.push({
        pos: posKey({ seq: seq - 1, depth: 0 }),
        signer: holder,
        to: r.to,
        hash: request.hash,
        bytes: link.request!,
        kind: 'request'
      })
    }
    assigns.push(assign)
    requests.push(request)
    holder = a.holder
    tipHash = assign.hash
  })
  const seq = chain.length

  const layerList = proof.layers ?? []
  if (!Array.isArray(layerList)) fail(ErrorCode.BAD_REQUEST, 'layers must be a list')
  if (layerList.length > opts.maxLayers)
    fail(PPayErrorCode.LAYER_DEPTH, `coin has ${layerList.length} layers, at most ${opts.maxLayers} allowed`)
  if (layerList.length > 0 && seq === 0) fail(ErrorCode.BAD_REQUEST, 'an unassigned coin cannot carry layers')
  const layers: Array<Opened<LayerBody>> = []
  layerList.forEach((b64, i) => {
    const layer = verifier.open<LayerBody>(decodeEnvelope(b64, 'layer'), TAG.layer, opts.kind)
    const l = layer.body
    if (l.sn !== sn || l.seq !== seq || l.depth !== i + 1 || l.prev !== tipHash || !isId(l.to))
      fail(ErrorCode.BAD_REQUEST, `layer ${i + 1} does not chain onto the layer below`)
    if (l.from !== holder || layer.signer !== holder)
      fail(ErrorCode.WRONG_HOLDER, `layer ${i + 1} not signed by the holder below it`)
    transfers.push({
      pos: posKey({ seq, depth: i }),
      signer: holder,
      to: l.to,
      hash: layer.hash,
      bytes: b64,
      kind: 'layer'
    })
    holder = l.to
    tipHash = layer.hash
    layers.push(layer)
  })
  return {
    coin,
    sn,
    owner,
    value,
    expiry,
    seq,
    depth: layers.length,
    holder,
    assigns,
    requests,
    layers,
    tipHash,
    transfers
  }
}

/** A cash request must be signed by the proof's final holder and point at its tip. */
export function verifyCash(
  verifier: Verifier,
  b64: unknown,
  info: ProofInfo,
  broker: string,
  kind: string
): { cash: Opened<CashBody>; transfer: Transfer } {
  const cash = verifier.open<CashBody>(decodeEnvelope(b64, 'cash request'), TAG.cash, kind)
  const c = cash.body
  if (c.broker !== broker) fail(ErrorCode.WRONG_BROKER, 'cash request is for another broker')
  if (c.sn !== info.sn || c.seq !== info.seq || c.depth !== info.depth || c.prev !== info.tipHash)
    fail(ErrorCode.BAD_REQUEST, 'cash request does not match the proof')
  if (c.holder !== info.holder || cash.signer !== info.holder)
    fail(ErrorCode.WRONG_HOLDER, 'only the current holder can cash a coin')
  return {
    cash,
    transfer: {
      pos: posKey(info),
      signer: info.holder,
      to: BROKER_SINK,
      hash: cash.hash,
      bytes: toB64(cash.bytes),
      kind: 'cash'
    }
  }
}

/** A reassignment request must come from the proof's holder, at depth 0, for this exact assignment. */
export function verifyRequest(
  verifier: Verifier,
  b64: unknown,
  info: ProofInfo,
  kind: string
): { request: Opened<RequestBody>; transfer: Transfer } {
  const request = verifier.open<RequestBody>(decodeEnvelope(b64, 'request'), TAG.request, kind)
  const r = request.body
  if (info.depth !== 0) fail(ErrorCode.BAD_REQUEST, 'a layered coin can only be layered on or cashed')
  if (info.seq === 0) fail(ErrorCode.BAD_REQUEST, 'the owner pays with an assignment, not a request')
  if (info.seq >= MAX_CHAIN)
    fail(ErrorCode.BAD_REQUEST, `coin was reassigned ${MAX_CHAIN} times; it can only be cashed now`)
  if (r.sn !== info.sn || r.owner !== info.owner || r.prev !== info.tipHash || !isId(r.to))
    fail(ErrorCode.BAD_REQUEST, "request does not match the holder's assignment")
  if (r.seq !== info.seq)
    fail(ErrorCode.STALE_SEQ, `request is for seq ${r.seq}, holder's assignment is seq ${info.seq}`)
  if (r.from !== info.holder || request.signer !== info.holder)
    fail(ErrorCode.WRONG_HOLDER, 'only the current holder can ask for a reassignment')
  if (r.to === r.from) fail(ErrorCode.BAD_REQUEST, 'cannot reassign a coin to its holder')
  return {
    request,
    transfer: {
      pos: posKey({ seq: info.seq, depth: 0 }),
      signer: info.holder,
      to: r.to,
      hash: request.hash,
      bytes: b64 as string,
      kind: 'request'
    }
  }
}

/** The proof one step on: a new assignment (with its request) or a new layer. */
export function extendProof(proof: CoinProof, step: { link?: ChainLink; layer?: string }): CoinProof {
  if (step.layer != null) return { ...proof, layers: [...(proof.layers ?? []), step.layer] }
  return { coin: proof.coin, chain: [...(proof.chain ?? []), step.link!] }
}
