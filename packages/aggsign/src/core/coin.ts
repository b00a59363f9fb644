// Coins: minted, paid on by one layer at a time, verified whole. Pure: no I/O,
// the certificates come from the caller's lookup (opened once, cached by hash).
//
// Verifying a coin is ONE aggregate verification over (mint message, minter's
// key) and (layer i message, key of the holder at depth i-1) for every layer,
// after the chain itself checks out: depths in order, each `prev` the hash of
// the message below, each layer naming this coin, each payee's key the one its
// certificate binds, the value within the minter's limit, nothing expired.
//
// A coin carries at most `maxLayers` layers, and one more only as its renewal
// layer: depth maxLayers + 1, paid back to its minter (its peer and the mint's
// certificate), who alone can take it, in exchange for a fresh coin.
import { ErrorCode, exactKeys, fail, fromB64, toB64 } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import { aggregate, aggregateVerify, checkSignatureB64, sign } from './bls.ts'
import type { CertInfo, CertLookup } from './certificate.ts'
import {
  checkLayerBody,
  checkMintBody,
  layerMessage,
  messageHash,
  mintMessage,
  type LayerBody,
  type MintBody,
  type WireCoin
} from './messages.ts'

export interface VerifyOptions {
  certs: CertLookup
  now: number
  maxLayers: number
  /** an expired coin is still cashed for a grace period: the broker sets this and checks the grace itself */
  allowExpired?: boolean
}

/** What a verified coin says. */
export interface CoinInfo {
  coin: WireCoin
  /** hash of the mint message */
  id: string
  mint: MintBody
  /** the certificate of the holder at each depth: [0] is the minter's, [depth] the current holder's */
  holders: CertInfo[]
  /** hash of the message at each depth: [0] the mint's */
  hashes: string[]
  depth: number
  /** the current holder's certificate */
  holder: CertInfo
  /** the last layer is the renewal layer: the coin went back to its minter past the layer limit */
  renewal: boolean
}

function certOf(certs: CertLookup, hash: string, what: string): CertInfo {
  const c = certs(hash)
  if (c == null) fail(AggsignErrorCode.UNKNOWN_CERT, `${what} names a certificate unknown here`, { cert: hash })
  return c
}

/**
 * The messages of a coin and the key each is signed with, checked as a chain
 * (every refusal before the one costly aggregate verification).
 */
function chain(raw: unknown, opts: VerifyOptions): { info: CoinInfo; msgs: Uint8Array[]; keys: Uint8Array[] } {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw))
    fail(ErrorCode.BAD_REQUEST, 'coin must be an object')
  exactKeys(raw, ['mint', 'layers', 'sig'], 'coin')
  const coin = raw as WireCoin
  if (!Array.isArray(coin.layers)) fail(ErrorCode.BAD_REQUEST, 'coin layers must be a list')
  if (coin.layers.length > opts.maxLayers + 1)
    fail(AggsignErrorCode.LAYER_LIMIT, `coin has ${coin.layers.length} layers, at most ${opts.maxLayers} allowed`)
  const mint = checkMintBody(coin.mint)
  const minter = certOf(opts.certs, mint.cert, 'the mint')
  if (mint.value > minter.limit)
    fail(AggsignErrorCode.OVER_LIMIT, `coin value ${mint.value} is past its minter's limit ${minter.limit}`)
  if (mint.expiry > minter.expiry) fail(ErrorCode.BAD_REQUEST, "coin expires after its minter's certificate")
  if (opts.allowExpired !== true && opts.now > mint.expiry) fail(ErrorCode.EXPIRED, 'coin expired')
  const first = mintMessage(mint)
  const msgs = [first]
  const hashes = [messageHash(first)]
  const id = hashes[0]
  const holders = [minter]
  coin.layers.forEach((raw, i) => {
    const l = checkLayerBody(raw, i + 1)
    if (l.coin !== id || l.depth !== i + 1 || l.prev !== hashes[i])
      fail(ErrorCode.BAD_REQUEST, `layer ${i + 1} does not chain onto the message below it`)
    if (l.depth > opts.maxLayers && (l.toCert !== mint.cert || l.toPeer !== minter.peer))
      fail(AggsignErrorCode.LAYER_LIMIT, `layer ${l.depth} is past the limit ${opts.maxLayers} and not to the minter`)
    const to = certOf(opts.certs, l.toCert, `layer ${i + 1}`)
    if (to.key !== l.toKey || to.peer !== l.toPeer)
      fail(ErrorCode.BAD_REQUEST, `layer ${i + 1} names a key or peer its certificate does not bind`)
    const m = layerMessage(l)
    msgs.push(m)
    hashes.push(messageHash(m))
    holders.push(to)
  })
  // the prev chain makes them differ; a repeat would need a sha256 collision, and would void aggregation's security
  if (new Set(hashes).size !== hashes.length) fail(ErrorCode.BAD_REQUEST, 'coin repeats a message')
  // the mint is signed by the minter, layer i by the holder at depth i-1
  const keys = [holders[0], ...holders.slice(0, -1)].map(c => fromB64(c.key))
  return {
    info: {
      coin,
      id,
      mint,
      holders,
      hashes,
      depth: coin.layers.length,
      holder: holders[holders.length - 1],
      renewal: coin.layers.length === opts.maxLayers + 1
    },
    msgs,
    keys
  }
}

/** Verifies a whole coin; BAD_SIGNATURE if the aggregate does not verify. Costs one aggregate verification. */
export function verifyCoin(raw: unknown, opts: VerifyOptions): CoinInfo {
  const { info, msgs, keys } = chain(raw, opts)
  const sig = checkSignatureB64(info.coin.sig, 'coin signature')
  if (!aggregateVerify(msgs, keys, sig)) fail(ErrorCode.BAD_SIGNATURE, 'the aggregate signature does not verify')
  return info
}

/**
 * A coin this process verified before (the broker's stored chains), read
 * without verifying its signature again.
 */
export const readCoin = (raw: WireCoin, opts: VerifyOptions): CoinInfo => chain(raw, opts).info

/** A new coin: its mint signed by the minter's key (one signature). */
export function mintCoin(sk: Uint8Array, body: MintBody): WireCoin {
  checkMintBody(body)
  return { mint: body, layers: [], sig: toB64(sign(sk, mintMessage(body))) }
}

/** The hash of a coin's last message: what the next layer's `prev` names. */
export function tipHash(coin: WireCoin): string {
  const n = coin.layers.length
  return messageHash(n === 0 ? mintMessage(coin.mint) : layerMessage(coin.layers[n - 1]))
}

export const coinId = (coin: WireCoin): string => messageHash(mintMessage(coin.mint))

/**
 * The coin paid on to the holder of `to`: one layer signed with the current
 * holder's key `sk`, its signature aggregated into the coin's (one message,
 * one signature). The caller holds the coin, so its chain is not verified again.
 */
export function addLayer(coin: WireCoin, sk: Uint8Array, to: CertInfo, maxLayers: number): WireCoin {
  if (coin.layers.length >= maxLayers)
    fail(AggsignErrorCode.LAYER_LIMIT, `coin has ${maxLayers} layers: it can only be cashed or renewed at its minter`)
  return layerTo(coin, sk, to)
}

/**
 * The renewal layer: a coin at exactly `maxLayers` layers paid back to its
 * minter (`minter` must be the mint's certificate), signed like any layer.
 */
export function addRenewalLayer(coin: WireCoin, sk: Uint8Array, minter: CertInfo, maxLayers: number): WireCoin {
  if (coin.layers.length !== maxLayers)
    fail(
      AggsignErrorCode.LAYER_LIMIT,
      `only a coin at its ${maxLayers} layers is renewed (it has ${coin.layers.length})`
    )
  if (minter.hash !== coin.mint.cert) fail(ErrorCode.BAD_REQUEST, "a renewal layer pays the coin's minter")
  return layerTo(coin, sk, minter)
}

function layerTo(coin: WireCoin, sk: Uint8Array, to: CertInfo): WireCoin {
  const body: LayerBody = {
    coin: coinId(coin),
    depth: coin.layers.length + 1,
    prev: tipHash(coin),
    toPeer: to.peer,
    toKey: to.key,
    toCert: to.hash
  }
  const sig = sign(sk, layerMessage(body))
  return { mint: coin.mint, layers: [...coin.layers, body], sig: toB64(aggregate([fromB64(coin.sig), sig])) }
}
