// WhoPay's signed objects: core Ed25519 envelopes (tag, signer, canonical JSON body) and their body checks.
//
//   whopay/coin      broker     {coin, owner, value, expiry, serial, gen}          the coin certificate
//   whopay/binding   owner|broker {coin, gen, seq, holder, request?, group?, by}   who holds the coin at seq
//   whopay/transfer  coin key   {coin, gen, seq, to, at}          holder requests: each also carries a BBS04
//   whopay/deposit   coin key   {coin, gen, seq, purse, at}       group signature over HOLDER_DOMAIN | envelope
//   whopay/renew     coin key   {coin, gen, seq, to, at}          bytes (a HolderSigned)
//   whopay/withdraw  purse key  {purse, account, amount, nonce}
//   whopay/spent     broker     {coin, gen, seq, how, request, group}               DHT state of a spent coin
//   whopay/opening   judge      {case, signature, member}
//   whopay/group     broker     {gpk, judge, opener}
//   whopay/opener    judge      {h, u, v}
//
// Keys (coin, holder, purse) are written as peer-id strings of their Ed25519 public halves.
import {
  ErrorCode,
  checkHash,
  checkPeerId,
  checkTimestamp,
  checkToken,
  checkUint,
  concat,
  exactKeys,
  fail,
  fromB64,
  isMoney,
  utf8
} from '@p2pay/core'

export const TAG = {
  coin: 'whopay/coin',
  binding: 'whopay/binding',
  transfer: 'whopay/transfer',
  deposit: 'whopay/deposit',
  renew: 'whopay/renew',
  withdraw: 'whopay/withdraw',
  spent: 'whopay/spent',
  opening: 'whopay/opening',
  conviction: 'whopay/conviction',
  group: 'whopay/group',
  opener: 'whopay/opener'
} as const

/**
 * The broker's signed conviction, kept in the fraud record: the case (evidence hash), the judge's openings (sha256
 * hex of each envelope's bytes), the member ids they name (b64 A), the peers convicted, the coin and seq.
 */
export interface ConvictionBody {
  case: string
  openings: string[]
  members: string[]
  cheaters: string[]
  coin: string
  seq: number
}

/** The tags of the requests a holder signs with its coin key (and its group key). */
export const HOLDER_TAGS = [TAG.transfer, TAG.deposit, TAG.renew] as const
export type HolderTag = (typeof HOLDER_TAGS)[number]

/** What a holder request's group signature covers: this, then the request envelope's bytes. */
export const HOLDER_DOMAIN = 'p2pay/whopay/holder/v1\0'
const HOLDER_DOMAIN_BYTES = utf8(HOLDER_DOMAIN)

/** The bytes a holder request's group signature covers. */
export const holderDigest = (envBytes: Uint8Array): Uint8Array => concat([HOLDER_DOMAIN_BYTES, envBytes])

/** Limits on what arrives as base64 (checked before decoding). */
export const LIMITS = {
  /** a holder request envelope: ~250 bytes */
  holderEnvB64: 2048,
  /** a BBS04 signature: 336 bytes, 448 in base64 */
  groupSigB64: 448,
  /** a coin certificate: ~300 bytes */
  certB64: 2048,
  /** a binding that embeds a request and its group signature: ~1.1 KB */
  bindingB64: 6144,
  spentB64: 6144,
  withdrawB64: 2048,
  /** bindings an evidence may carry */
  evidenceBindings: 2,
  /** how far a coin may move at one generation (seq) */
  maxSeq: 1_000_000,
  /** renewals of one coin (gen) */
  maxGen: 10_000,
  /** coins one owner's sync asks about: at its limits a coin's answer is ~8.4 KB, so 100 fit a frame */
  syncCoins: 100
} as const

export interface CoinBody {
  /** the coin key id */
  coin: string
  /** the peer that bought the coin */
  owner: string
  value: number
  /** ms */
  expiry: number
  serial: string
  /** 0 at purchase, +1 per renewal */
  gen: number
}

export type BindingBy = 'owner' | 'broker'

export interface BindingBody {
  coin: string
  gen: number
  /** 1: the owner's issue (no request); s+1: the answer to the seq-s holder's request */
  seq: number
  /** the holder key id at seq */
  holder: string
  /** base64 of the holder request envelope this binding answers (absent at seq 1 by the owner) */
  request?: string
  /** base64 of that request's group signature */
  group?: string
  by: BindingBy
}

export interface TransferBody {
  coin: string
  gen: number
  /** the seq the signing holder holds at */
  seq: number
  /** the new holder key id */
  to: string
  at: number
}

export interface DepositBody {
  coin: string
  gen: number
  seq: number
  /** the purse key id credited */
  purse: string
  at: number
}

export type RenewBody = TransferBody
export type HolderBody = TransferBody | DepositBody

export interface WithdrawBody {
  purse: string
  /** the peer whose broker account is credited */
  account: string
  amount: number
  nonce: string
}

export interface SpentBody {
  coin: string
  gen: number
  seq: number
  how: 'deposit' | 'renew'
  request: string
  group: string
}

export interface OpeningBody {
  /** the evidence hash */
  case: string
  /** sha256 hex of the group signature bytes opened */
  signature: string
  /** base64 of the member id A */
  member: string
}

export interface GroupBody {
  /** base64 of the group public key */
  gpk: string
  /** the judge's peer id */
  judge: string
  /** hash of the judge's opener envelope */
  opener: string
}

export interface OpenerBody {
  /** base64 of the G1 points h, u, v */
  h: string
  u: string
  v: string
}

/** A holder request as it travels: the coin-key envelope and its group signature, both base64. */
export interface HolderSigned {
  env: string
  group: string
}

const isObject = (b: unknown): b is object => b != null && typeof b === 'object' && !Array.isArray(b)

function object(b: unknown, what: string): object {
  if (!isObject(b)) fail(ErrorCode.BAD_REQUEST, `${what} must be an object`)
  return b
}

/** A positive whole amount within core's MAX_MONEY. */
export const isValue = (v: unknown): v is number => isMoney(v) && v > 0

export const checkGen = (v: unknown, what: string): number => checkUint(v, `${what} gen`, LIMITS.maxGen)
export const checkSeq = (v: unknown, what: string): number => checkUint(v, `${what} seq`, LIMITS.maxSeq)

/** A base64 string that decodes to at most `max` characters' worth: its shape only, not what it holds. */
export function checkB64(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(ErrorCode.BAD_REQUEST, `${what} must be base64`)
  fromB64(v)
  return v
}

export function checkCoinBody(b: unknown): CoinBody {
  exactKeys(object(b, 'coin certificate'), ['coin', 'owner', 'value', 'expiry', 'serial', 'gen'], 'coin certificate')
  const c = b as CoinBody
  checkPeerId(c.coin, 'coin key')
  checkPeerId(c.owner, 'coin owner')
  if (!isValue(c.value)) fail(ErrorCode.BAD_REQUEST, 'coin value must be a positive amount')
  checkTimestamp(c.expiry, 'coin expiry')
  checkToken(c.serial, 'coin serial')
  checkGen(c.gen, 'coin')
  return c
}

export function checkBindingBody(b: unknown): BindingBody {
  exactKeys(object(b, 'binding'), ['coin', 'gen', 'seq', 'holder', 'by'], 'binding', ['request', 'group'])
  const x = b as BindingBody
  checkPeerId(x.coin, 'binding coin')
  checkGen(x.gen, 'binding')
  checkSeq(x.seq, 'binding')
  if (x.seq < 1) fail(ErrorCode.BAD_REQUEST, 'binding seq must be at least 1')
  checkPeerId(x.holder, 'binding holder')
  if (x.by !== 'owner' && x.by !== 'broker') fail(ErrorCode.BAD_REQUEST, "binding by must be 'owner' or 'broker'")
  if ((x.request === undefined) !== (x.group === undefined))
    fail(ErrorCode.BAD_REQUEST, 'binding request and group come together')
  if (x.request !== undefined) checkB64(x.request, 'binding request', LIMITS.holderEnvB64)
  if (x.group !== undefined) checkB64(x.group, 'binding group signature', LIMITS.groupSigB64)
  // only the owner's issue goes without a request: every later holder is named by its predecessor
  if ((x.seq > 1 || x.by === 'broker') && x.request === undefined)
    fail(ErrorCode.BAD_REQUEST, 'a binding past seq 1, or by the broker, answers a request')
  if (x.seq === 1 && x.by === 'owner' && x.request !== undefined)
    fail(ErrorCode.BAD_REQUEST, "the owner's issue (seq 1) answers no request")
  return x
}

/** The body of a holder request of tag `tag`. */
export function checkHolderBody(tag: HolderTag, b: unknown): HolderBody {
  const dest = tag === TAG.deposit ? 'purse' : 'to'
  exactKeys(object(b, tag), ['coin', 'gen', 'seq', dest, 'at'], tag)
  const x = b as TransferBody & DepositBody
  checkPeerId(x.coin, `${tag} coin`)
  checkGen(x.gen, tag)
  checkSeq(x.seq, tag)
  checkPeerId(x[dest], `${tag} ${dest}`)
  checkTimestamp(x.at, `${tag} at`)
  return x
}

/** Where a holder request sends the coin: the new holder key, or the purse credited. */
export const destinationOf = (b: HolderBody): string => ('to' in b ? b.to : b.purse)

export function checkWithdrawBody(b: unknown): WithdrawBody {
  exactKeys(object(b, 'withdraw'), ['purse', 'account', 'amount', 'nonce'], 'withdraw')
  const x = b as WithdrawBody
  checkPeerId(x.purse, 'withdraw purse')
  checkPeerId(x.account, 'withdraw account')
  if (!isValue(x.amount)) fail(ErrorCode.BAD_REQUEST, 'withdraw amount must be a positive amount')
  checkToken(x.nonce, 'withdraw nonce')
  return x
}

export function checkSpentBody(b: unknown): SpentBody {
  exactKeys(object(b, 'spent'), ['coin', 'gen', 'seq', 'how', 'request', 'group'], 'spent')
  const x = b as SpentBody
  checkPeerId(x.coin, 'spent coin')
  checkGen(x.gen, 'spent')
  checkSeq(x.seq, 'spent')
  if (x.how !== 'deposit' && x.how !== 'renew') fail(ErrorCode.BAD_REQUEST, "spent how must be 'deposit' or 'renew'")
  checkB64(x.request, 'spent request', LIMITS.holderEnvB64)
  checkB64(x.group, 'spent group signature', LIMITS.groupSigB64)
  return x
}

export function checkOpeningBody(b: unknown): OpeningBody {
  exactKeys(object(b, 'opening'), ['case', 'signature', 'member'], 'opening')
  const x = b as OpeningBody
  checkHash(x.case, 'opening case')
  checkHash(x.signature, 'opening signature')
  checkB64(x.member, 'opening member', 128)
  return x
}

export function checkHolderSigned(v: unknown, what: string): HolderSigned {
  exactKeys(object(v, what), ['env', 'group'], what)
  const x = v as HolderSigned
  checkB64(x.env, `${what} env`, LIMITS.holderEnvB64)
  checkB64(x.group, `${what} group`, LIMITS.groupSigB64)
  return x
}
