// Fraud proofs. Every message of a coin is signed by one key, so two coins
// that contradict each other convict the key that signed both sides, and the
// certificate of that key names the peer:
//
//   double-mint       two mints of one certificate and serial, different bodies: the minter (depth 0)
//   double-spend      two chains of one coin that part at layer j: both layer-j messages are
//                     signed by the holder at depth j-1
//   cash-after-spend  the chain the broker paid out on is a strict prefix of another: the holder it
//                     paid gave the coin away too (layer j = paid depth + 1 is its signature); the
//                     broker's record of the cashing is the other half of this proof
//   over-mint         coins of one certificate with distinct serials worth more than its limit
//
// The proof is the coins themselves (each verifies on its own) plus j.
import { ErrorCode, fail } from '@p2pay/core'
import { verifyCoin, type CoinInfo, type VerifyOptions } from './coin.ts'
import type { WireCoin } from './messages.ts'

export type FraudKind = 'double-mint' | 'double-spend' | 'cash-after-spend' | 'over-mint'

export interface FraudProof {
  kind: FraudKind
  /** two coins; for over-mint, every coin counted against the limit */
  coins: WireCoin[]
  /** depth of the first message that differs (0 for the minting frauds) */
  depth: number
}

export interface Conviction {
  kind: FraudKind
  /** the convicted peer, from the certificate of the key that signed both sides */
  culprit: string
  /** that certificate's hash */
  cert: string
  depth: number
}

/**
 * The first depth where two chains of one coin differ, or undefined when one
 * is a prefix of the other (or they are the same).
 */
export function forkDepth(a: CoinInfo, b: CoinInfo): number | undefined {
  const n = Math.min(a.hashes.length, b.hashes.length)
  for (let d = 0; d < n; d++) if (a.hashes[d] !== b.hashes[d]) return d
  return undefined
}

/** What two coins with one mint certificate prove, if anything (undefined: they agree). */
export function convict(a: CoinInfo, b: CoinInfo): Conviction | undefined {
  if (a.mint.cert !== b.mint.cert) return undefined
  if (a.id !== b.id) {
    if (a.mint.serial !== b.mint.serial) return undefined
    return { kind: 'double-mint', culprit: a.holders[0].peer, cert: a.mint.cert, depth: 0 }
  }
  const d = forkDepth(a, b)
  if (d != null) {
    const signer = a.holders[d - 1]
    return { kind: 'double-spend', culprit: signer.peer, cert: signer.hash, depth: d }
  }
  if (a.depth === b.depth) return undefined
  const [short, long] = a.depth < b.depth ? [a, b] : [b, a]
  const signer = long.holders[short.depth]
  return { kind: 'cash-after-spend', culprit: signer.peer, cert: signer.hash, depth: short.depth + 1 }
}

/**
 * Verifies a fraud proof from scratch: every coin verifies (expired ones too),
 * and they contradict each other as `kind` says at `depth`. Returns who it
 * convicts; BAD_REQUEST if it proves nothing.
 */
export function checkFraudProof(proof: FraudProof, opts: Omit<VerifyOptions, 'allowExpired'>): Conviction {
  if (proof == null || typeof proof !== 'object' || !Array.isArray(proof.coins))
    fail(ErrorCode.BAD_REQUEST, 'a fraud proof holds coins')
  const infos = proof.coins.map(c => verifyCoin(c, { ...opts, allowExpired: true }))
  if (proof.kind === 'over-mint') {
    const cert = infos[0]?.holders[0]
    const serials = new Set(infos.map(i => i.mint.serial))
    const sum = infos.reduce((n, i) => n + i.mint.value, 0)
    if (
      cert == null ||
      proof.depth !== 0 ||
      infos.some(i => i.mint.cert !== cert.hash) ||
      serials.size !== infos.length ||
      sum <= cert.limit
    )
      fail(ErrorCode.BAD_REQUEST, 'these coins do not mint past their certificate')
    return { kind: 'over-mint', culprit: cert.peer, cert: cert.hash, depth: 0 }
  }
  if (infos.length !== 2) fail(ErrorCode.BAD_REQUEST, 'a fraud proof of this kind holds two coins')
  const c = convict(infos[0], infos[1])
  if (c == null || c.kind !== proof.kind || c.depth !== proof.depth)
    fail(ErrorCode.BAD_REQUEST, 'these coins do not prove what the proof says')
  return c
}
