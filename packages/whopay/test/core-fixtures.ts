// Shared fixtures of WhoPay's core tests: Ed25519 peers (broker, owners), a real BBS04 group with members,
// certificates, bindings and holder requests made the way the services make them, and an injectable clock.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Verifier, nodeEd25519, randomId, signerFor, type Signer } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'
import { signCoinCert, type CoinCert } from '../src/core/coin.ts'
import { coinSigner, holderSigned, newCoinKey, signHolderEnvelope, type CoinKey } from '../src/core/holder.ts'
import { TAG, type HolderSigned, type HolderTag } from '../src/core/messages.ts'
import type { WhopayKind } from '../src/kinds.ts'

export const backend = nodeEd25519()
export const verifier = new Verifier<WhopayKind>(backend)

export const T0 = 1_700_000_000_000
export const COIN_TTL = 24 * 3600_000

export class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export interface Peer {
  signer: Signer<WhopayKind>
  id: string
}

export async function peer(): Promise<Peer> {
  const signer = signerFor(await generateKeyPair('Ed25519'), backend) as Signer<WhopayKind>
  return { signer, id: signer.peerId }
}

export const group = bbs.setup()
export const member = (): bbs.MemberKey => bbs.issue(group.gpk, group.issuerKey)

/** A BBS04 signature by `m` over `digest`, as bytes. */
export const groupSign = (m: bbs.MemberKey, digest: Uint8Array): Uint8Array =>
  bbs.encodeSignature(bbs.sign(group.gpk, m, digest))
export const groupVerify = (digest: Uint8Array, sig: Uint8Array): boolean => bbs.verify(group.gpk, digest, sig)
/** The member id A the judge finds in a signature. */
export const openSig = (sig: Uint8Array): string =>
  Buffer.from(bbs.open(group.gpk, group.openerKey, sig)).toString('base64')
export const memberIdOf = (m: bbs.MemberKey): string => Buffer.from(bbs.memberId(m)).toString('base64')

/** A certificate for a fresh coin key of `owner`, signed by `broker` (no ledger behind it). */
export function certFor(
  broker: Peer,
  owner: Peer,
  value = 10,
  opts: { key?: CoinKey; gen?: number; expiry?: number } = {}
): { cert: CoinCert; key: CoinKey } {
  const key = opts.key ?? newCoinKey()
  const cert = signCoinCert(
    broker.signer,
    {
      coin: key.id,
      owner: owner.id,
      value,
      expiry: opts.expiry ?? T0 + COIN_TTL,
      serial: randomId(8),
      gen: opts.gen ?? 0
    },
    'whopay-purchase'
  )
  return { cert, key }
}

/** A holder request by coin key `key` at (coin, gen, seq), group-signed by `m`. */
export function request(
  key: CoinKey,
  m: bbs.MemberKey,
  tag: HolderTag,
  at: { coin: string; gen: number; seq: number },
  dest: string,
  time = T0
): HolderSigned {
  const body =
    tag === TAG.deposit
      ? { coin: at.coin, gen: at.gen, seq: at.seq, purse: dest, at: time }
      : { coin: at.coin, gen: at.gen, seq: at.seq, to: dest, at: time }
  const kind: WhopayKind =
    tag === TAG.deposit ? 'whopay-deposit' : tag === TAG.renew ? 'whopay-renew' : 'whopay-transfer'
  const { env, digest } = signHolderEnvelope(coinSigner(key, backend), tag, body, kind)
  return holderSigned(env.bytes, groupSign(m, digest))
}
