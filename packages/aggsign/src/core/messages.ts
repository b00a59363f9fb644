// The messages of an AggSign coin, as the BLS keys sign them. Every message is
// its domain string, a NUL and the canonical JSON of its body, so a message of
// one kind can never be read as another, and one body has one encoding.
//
//   mint     Sig_minter("p2pay/aggsign/mint/v1\0" | {cert, serial, value, expiry})
//   layer i  Sig_holder(i-1)("p2pay/aggsign/layer/v1\0" | {coin, depth: i, prev, toPeer, toKey, toCert})
//
// `prev` is the hash of the message below (the mint's for layer 1), so every
// message of a coin differs from every other, as aggregate verification needs.
// The coin travels as its bodies and ONE aggregate signature over all of them.
import {
  ErrorCode,
  canonicalJson,
  checkHash,
  checkTimestamp,
  concat,
  exactKeys,
  fail,
  isMoney,
  keyOfPeerId,
  sha256Hex,
  utf8
} from '@p2pay/core'
import { checkPublicKeyB64 } from './bls.ts'

/** What each kind of signed message starts with. */
export const DOMAIN = {
  mint: 'p2pay/aggsign/mint/v1',
  layer: 'p2pay/aggsign/layer/v1'
} as const

/** Layers a coin carries at most unless configured otherwise (the paper's 6-8). */
export const DEFAULT_MAX_LAYERS = 8
/** The most layers any configuration may allow: it bounds a coin's size and its verification time. */
export const MAX_LAYERS_CAP = 64

/** Minted by the holder of certificate `cert` (its hash); `serial` is unique per certificate. */
export interface MintBody {
  cert: string
  serial: number
  value: number
  /** ms; at most the certificate's expiry */
  expiry: number
}

/** Layer `depth` (1..): the holder at depth-1 gives the coin to `toPeer`, whose key and certificate it names. */
export interface LayerBody {
  /** the coin's id: the hash of its mint message */
  coin: string
  depth: number
  /** hash of the message of layer depth-1 (the mint's for depth 1) */
  prev: string
  toPeer: string
  /** base64 of the payee's 48-byte G1 key */
  toKey: string
  /** hash of the payee's certificate */
  toCert: string
}

/** A coin on the wire: its mint, its layers in depth order, and the aggregate signature (base64, 96 bytes). */
export interface WireCoin {
  mint: MintBody
  layers: LayerBody[]
  sig: string
}

const message = (domain: string, body: object): Uint8Array => concat([utf8(`${domain}\0`), utf8(canonicalJson(body))])

export const mintMessage = (b: MintBody): Uint8Array => message(DOMAIN.mint, b)
export const layerMessage = (b: LayerBody): Uint8Array => message(DOMAIN.layer, b)
/** A message's identity: what `prev` and the coin id name. */
export const messageHash = sha256Hex

/** A positive whole amount within core's MAX_MONEY. */
export const isValue = (v: unknown): v is number => isMoney(v) && v > 0

export function checkPeer(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a peer id`)
  keyOfPeerId(v)
  return v
}

export function checkMintBody(b: unknown): MintBody {
  if (b == null || typeof b !== 'object' || Array.isArray(b)) fail(ErrorCode.BAD_REQUEST, 'mint must be an object')
  exactKeys(b, ['cert', 'serial', 'value', 'expiry'], 'mint')
  const m = b as MintBody
  checkHash(m.cert, 'mint cert')
  if (!Number.isSafeInteger(m.serial) || m.serial < 0) fail(ErrorCode.BAD_REQUEST, 'mint serial must be an integer')
  if (!isValue(m.value)) fail(ErrorCode.BAD_REQUEST, 'mint value must be a positive amount')
  checkTimestamp(m.expiry, 'mint expiry')
  return m
}

export function checkLayerBody(b: unknown, i: number): LayerBody {
  const what = `layer ${i}`
  if (b == null || typeof b !== 'object' || Array.isArray(b)) fail(ErrorCode.BAD_REQUEST, `${what} must be an object`)
  exactKeys(b, ['coin', 'depth', 'prev', 'toPeer', 'toKey', 'toCert'], what)
  const l = b as LayerBody
  checkHash(l.coin, `${what} coin`)
  if (!Number.isSafeInteger(l.depth)) fail(ErrorCode.BAD_REQUEST, `${what} depth must be an integer`)
  checkHash(l.prev, `${what} prev`)
  checkPeer(l.toPeer, `${what} toPeer`)
  checkPublicKeyB64(l.toKey, `${what} toKey`)
  checkHash(l.toCert, `${what} toCert`)
  return l
}
