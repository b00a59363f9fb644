// Shared fixtures of the AggSign unit tests: Ed25519 identities with BLS keys,
// certificates signed by a broker, a certificate lookup, coins built along a
// chain of holders, and an injectable clock.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Verifier, nodeEd25519, randomId, signerFor, type Signer } from '@p2pay/core'
import { generateKey, type BlsKeyPair } from '../src/core/bls.ts'
import { signCertificate, type CertInfo } from '../src/core/certificate.ts'
import { addLayer, mintCoin, verifyCoin, type CoinInfo, type VerifyOptions } from '../src/core/coin.ts'
import { DEFAULT_MAX_LAYERS, type WireCoin } from '../src/core/messages.ts'
import type { AggsignKind } from '../src/kinds.ts'

export const backend = nodeEd25519()
export const verifier = new Verifier<AggsignKind>(backend)

export const T0 = 1_700_000_000_000
export const CERT_TTL = 24 * 3600_000
export const COIN_TTL = 3600_000
export const MAX_LAYERS = DEFAULT_MAX_LAYERS

export class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export interface Peer {
  signer: Signer<AggsignKind>
  id: string
  bls: BlsKeyPair
}

export async function peer(): Promise<Peer> {
  const signer = signerFor(await generateKeyPair('Ed25519'), backend) as Signer<AggsignKind>
  return { signer, id: signer.peerId, bls: generateKey() }
}

export const peers = async (n: number): Promise<Peer[]> => await Promise.all(Array.from({ length: n }, peer))

/** Certificates by hash, as a checker caches them. */
export class Certs {
  readonly map = new Map<string, CertInfo>()
  readonly lookup = (hash: string): CertInfo | undefined => this.map.get(hash)
  add(c: CertInfo): CertInfo {
    this.map.set(c.hash, c)
    return c
  }
}

/** A certificate of `p`'s BLS key signed by `broker`, with no ledger behind it (coin-level tests). */
export function certify(broker: Peer, p: Peer, limit: number, expiry = T0 + CERT_TTL, bls = p.bls): CertInfo {
  const env = signCertificate(broker.signer, {
    peer: p.id,
    key: Buffer.from(bls.publicKey).toString('base64'),
    limit,
    expiry,
    serial: randomId(8)
  })
  return { ...env.body, hash: env.hash, broker: broker.id }
}

export const opts = (certs: Certs, now = T0, maxLayers = MAX_LAYERS): VerifyOptions => ({
  certs: certs.lookup,
  now,
  maxLayers
})

/** A holder along a chain: its BLS key and its certificate. */
export interface Hop {
  bls: BlsKeyPair
  cert: CertInfo
}

/** A coin minted by hops[0] and paid along hops[1..] (each signing with the key of the hop before). */
export function chainCoin(
  hops: Hop[],
  value: number,
  serial = 1,
  expiry = T0 + COIN_TTL,
  maxLayers = MAX_LAYERS
): WireCoin {
  let coin = mintCoin(hops[0].bls.secretKey, { cert: hops[0].cert.hash, serial, value, expiry })
  for (let i = 1; i < hops.length; i++) coin = addLayer(coin, hops[i - 1].bls.secretKey, hops[i].cert, maxLayers)
  return coin
}

/** The coin one step on, from its current holder `from` to `to`. */
export const payOn = (coin: WireCoin, from: Hop, to: Hop, maxLayers = MAX_LAYERS): WireCoin =>
  addLayer(coin, from.bls.secretKey, to.cert, maxLayers)

export const verified = (coin: WireCoin, certs: Certs, now = T0): CoinInfo => verifyCoin(coin, opts(certs, now))

/** A broker, a minter with `limit` and `n` receiving peers, all certified; hops[0] is the minter. */
export async function cast(n: number, limit = 1000): Promise<{ broker: Peer; certs: Certs; hops: Array<Hop & Peer> }> {
  const [broker, ...ps] = await peers(n + 2)
  const certs = new Certs()
  const hops = ps.map((p, i) => ({ ...p, cert: certs.add(certify(broker, p, i === 0 ? limit : 0)) }))
  return { broker, certs, hops }
}
