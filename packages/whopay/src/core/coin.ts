// A coin as checkers see it: the broker's certificate and the binding that names its holder at a seq. A binding is
// signed by the coin's owner (its issue at seq 1, then each transfer it answers) or by the broker (the downtime
// path, renewals); past seq 1 it embeds the holder request it answers, signed by the holder key of seq - 1. This
// file checks the Ed25519 parts; an embedded request's group signature is the caller's to verify (`digest`).
import { ErrorCode, decodeSigned, fail, fromB64, toB64, type Opened, type Signer, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import { WhopayErrorCode } from '../errors.ts'
import { openHolder, type OpenedHolder } from './holder.ts'
import {
  LIMITS,
  TAG,
  checkBindingBody,
  checkCoinBody,
  destinationOf,
  type BindingBody,
  type BindingBy,
  type CoinBody,
  type HolderSigned,
  type HolderTag
} from './messages.ts'

/** An opened certificate: its body, the exact bytes (base64, to forward) and their hash. */
export interface CoinCert extends CoinBody {
  hash: string
  b64: string
  broker: string
}

export interface CertCheck {
  /** the broker's peer id: the only key that signs certificates */
  broker: string
  /** refuse an expired certificate when given (ms) */
  now?: number
  /** the largest value a coin may carry when given */
  maxValue?: number
}

/** Opens a coin certificate (base64 envelope): signed by the broker, well formed, unexpired, within bounds. */
export function openCoinCert(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  check: CertCheck,
  kind: WhopayKind
): CoinCert {
  const env = verifier.open<CoinBody>(decodeSigned(b64, 'coin certificate', LIMITS.certB64), TAG.coin, kind)
  if (env.signer !== check.broker) fail(ErrorCode.WRONG_BROKER, 'coin certificate not signed by this broker')
  const body = checkCoinBody(env.body)
  if (check.now !== undefined && body.expiry <= check.now) fail(ErrorCode.EXPIRED, 'coin certificate expired')
  if (check.maxValue !== undefined && body.value > check.maxValue)
    fail(ErrorCode.BAD_REQUEST, `coin value above ${check.maxValue}`)
  return { ...body, hash: env.hash, b64: toB64(env.bytes), broker: env.signer }
}

export function signCoinCert(broker: Signer<WhopayKind>, body: CoinBody, kind: WhopayKind): CoinCert {
  checkCoinBody(body)
  const env = broker.sign<CoinBody>(TAG.coin, body, kind)
  return { ...body, hash: env.hash, b64: toB64(env.bytes), broker: env.signer }
}

/** An opened binding, checked against its certificate. */
export interface CoinBinding extends BindingBody {
  hash: string
  b64: string
  signer: string
  /** the holder request it answers (coin-key signature checked; group signature NOT checked) */
  answered?: OpenedHolder
}

/**
 * Opens a binding (base64 envelope) of the coin `cert` names: signed by the cert's owner when by 'owner', by the
 * cert's broker when by 'broker'; same coin and gen. Past seq 1 (or by the broker) the embedded request is a
 * transfer or renew at seq - 1 of this coin and gen, to this binding's holder, and when `prevHolder` is given it
 * is signed by that key. The caller verifies `answered.group` over `answered.digest`.
 */
export function openBinding(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  cert: CoinCert,
  kind: WhopayKind,
  prevHolder?: string
): CoinBinding {
  const env = verifier.open<BindingBody>(decodeSigned(b64, 'binding', LIMITS.bindingB64), TAG.binding, kind)
  return bindingOf(verifier, env, cert, kind, prevHolder)
}

/**
 * Opens a binding as a payee does: signed by the coin's owner (or the broker), of the certificate's coin and gen,
 * well formed; the request it answers is the signer's to have checked, so it is not verified again (one signature
 * verified, as the paper counts).
 */
export function openDelivered(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  cert: CoinCert,
  kind: WhopayKind
): CoinBinding {
  const env = verifier.open<BindingBody>(decodeSigned(b64, 'binding', LIMITS.bindingB64), TAG.binding, kind)
  return bindingOf(verifier, env, cert, kind, undefined, false)
}

function bindingOf(
  verifier: Verifier<WhopayKind>,
  env: Opened<BindingBody>,
  cert: CoinCert,
  kind: WhopayKind,
  prevHolder?: string,
  request = true
): CoinBinding {
  const b = checkBindingBody(env.body)
  const expected = b.by === 'owner' ? cert.owner : cert.broker
  if (env.signer !== expected) fail(ErrorCode.WRONG_SIGNER, `binding by '${b.by}' not signed by the coin's ${b.by}`)
  if (b.coin !== cert.coin) fail(WhopayErrorCode.NO_SUCH_COIN, 'binding of another coin')
  if (b.gen !== cert.gen) fail(WhopayErrorCode.WRONG_GEN, 'binding of another generation of the coin')
  const out: CoinBinding = { ...b, hash: env.hash, b64: toB64(env.bytes), signer: env.signer }
  if (b.request === undefined || b.group === undefined || !request) return out
  const answered = openHolder(verifier, { env: b.request, group: b.group }, [TAG.transfer, TAG.renew], kind)
  if (answered.tag === TAG.renew && b.by !== 'broker') fail(ErrorCode.WRONG_SIGNER, 'only the broker renews a coin')
  const r = answered.body
  if (r.coin !== b.coin || r.gen !== requestGen(answered, b.gen) || r.seq !== b.seq - 1)
    fail(ErrorCode.BAD_REQUEST, 'binding answers a request of another coin, generation or seq')
  if (destinationOf(r) !== b.holder) fail(ErrorCode.WRONG_HOLDER, 'binding names a holder its request does not')
  // at seq 0 the holder is the owner, which holds the coin key itself
  if (r.seq === 0 && answered.holder !== cert.coin) fail(ErrorCode.WRONG_HOLDER, 'seq 0 is held by the coin key')
  if (prevHolder !== undefined && answered.holder !== prevHolder)
    fail(ErrorCode.WRONG_HOLDER, 'binding answers a request not by the holder of the seq before')
  return { ...out, answered }
}

/** A renewal's binding is of the new generation: it answers a request at the generation before. */
const requestGen = (request: OpenedHolder, bindingGen: number): number =>
  request.tag === TAG.renew ? bindingGen - 1 : bindingGen

/** The holder key at seq 0 (the owner holds the coin key itself). */
export const seqZeroHolder = (cert: CoinCert): string => cert.coin

/** The owner's issue of its coin to the first holder: the binding at seq 1. */
export function signIssue(owner: Signer<WhopayKind>, cert: CoinCert, holder: string): CoinBinding {
  if (owner.peerId !== cert.owner) fail(ErrorCode.WRONG_OWNER, 'only the coin owner issues it')
  const body: BindingBody = { coin: cert.coin, gen: cert.gen, seq: 1, holder, by: 'owner' }
  checkBindingBody(body)
  const env = owner.sign<BindingBody>(TAG.binding, body, 'whopay-issue')
  return { ...body, hash: env.hash, b64: toB64(env.bytes), signer: env.signer }
}

/**
 * A binding at seq s+1 answering `request` (already opened: coin-key signature checked; its group signature must
 * be checked by the caller before this is called), by the owner or by the broker.
 */
export function signAnswer(
  signer: Signer<WhopayKind>,
  by: BindingBy,
  cert: CoinCert,
  request: OpenedHolder,
  kind: WhopayKind
): CoinBinding {
  const expected = by === 'owner' ? cert.owner : cert.broker
  if (signer.peerId !== expected) fail(ErrorCode.WRONG_SIGNER, `only the coin's ${by} signs a binding by '${by}'`)
  const r = request.body
  if (request.tag === TAG.deposit) fail(ErrorCode.BAD_REQUEST, 'a deposit is not answered with a binding')
  if (request.tag === TAG.renew && by !== 'broker') fail(ErrorCode.WRONG_SIGNER, 'only the broker renews a coin')
  if (r.coin !== cert.coin || r.gen !== requestGen(request, cert.gen))
    fail(WhopayErrorCode.WRONG_GEN, 'request of another coin or gen')
  const body: BindingBody = {
    coin: cert.coin,
    gen: cert.gen,
    seq: r.seq + 1,
    holder: destinationOf(r),
    request: toB64(request.env),
    group: toB64(request.group),
    by
  }
  checkBindingBody(body)
  const env = signer.sign<BindingBody>(TAG.binding, body, kind)
  return { ...body, hash: env.hash, b64: toB64(env.bytes), signer: env.signer, answered: request }
}

/** The holder request a binding answers, in wire form (for evidence). */
export function answeredOf(b: CoinBinding): HolderSigned | undefined {
  return b.request !== undefined && b.group !== undefined ? { env: b.request, group: b.group } : undefined
}

/** Decodes the group signature bytes of a HolderSigned (its shape was checked when it was opened). */
export const groupBytes = (s: HolderSigned): Uint8Array => fromB64(s.group)

/** A coin as a holder shows it with a request: the certificate, the binding naming it (none at seq 0), the request. */
export interface ShownInput {
  cert: unknown
  binding?: unknown
  request: unknown
}

/** A group signature to verify (through the pool) before acting on what carries it. */
export interface GroupCheck {
  digest: Uint8Array
  sig: Uint8Array
}

export interface ShownCoin {
  cert: CoinCert
  /** absent at seq 0: the owner holds the coin key itself */
  binding?: CoinBinding
  request: OpenedHolder
  /** the request's group signature: the caller verifies it before it acts */
  groups: GroupCheck[]
}

/**
 * Opens what a holder shows with a request: the broker's certificate, the binding that names the request's signer
 * as holder at the request's seq (at seq 0 none: the coin key signs), and the request of one of `tags` at the
 * certificate's coin and generation. Everything is checked against the bytes received except group signatures.
 */
export function openShown(
  verifier: Verifier<WhopayKind>,
  input: ShownInput,
  check: CertCheck,
  tags: HolderTag | readonly HolderTag[],
  kind: WhopayKind
): ShownCoin {
  if (input == null || typeof input !== 'object') fail(ErrorCode.BAD_REQUEST, 'a coin shown must be an object')
  const cert = openCoinCert(verifier, input.cert, check, kind)
  const request = openHolder(verifier, input.request, tags, kind)
  const r = request.body
  if (r.coin !== cert.coin) fail(WhopayErrorCode.NO_SUCH_COIN, 'request of another coin than the certificate')
  if (r.gen !== cert.gen) fail(WhopayErrorCode.WRONG_GEN, 'request of another generation than the certificate')
  let binding: CoinBinding | undefined
  if (input.binding == null) {
    if (r.seq !== 0) fail(ErrorCode.BAD_REQUEST, 'a request past seq 0 comes with the binding that names its signer')
    if (request.holder !== cert.coin) fail(ErrorCode.WRONG_HOLDER, 'at seq 0 the coin key holds the coin')
  } else {
    binding = openBinding(verifier, input.binding, cert, kind)
    if (binding.seq !== r.seq) fail(ErrorCode.STALE_SEQ, `request at seq ${r.seq}, binding at seq ${binding.seq}`)
    if (binding.holder !== request.holder)
      fail(ErrorCode.WRONG_HOLDER, 'request not signed by the key the binding names')
  }
  return { cert, binding, request, groups: [{ digest: request.digest, sig: request.group }] }
}
