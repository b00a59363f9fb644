// A coin's size on the wire at 1..8 payments, AggSign against PPay's layered
// coins: the bytes of the coin object in the pay request's JSON (the RPC
// wrapper and frame prefix around it are the same for both and left out).
//
//   AggSign   mint + one layer per payment + ONE 96-byte aggregate signature; the payer also sends the
//             certificates of the minter and of every payee (Wallet.certificatesOf), each an Ed25519
//             envelope the payee opens once and caches, so a payee that knows them all gets the coin alone
//   PPay      the broker's coin envelope + the owner's assignment (payment 1) + one layer envelope per
//             later payment, each with its own 64-byte Ed25519 signature and 32-byte key
import type { CoinProof } from '@p2pay/ppay'
import type { WireCoin } from '@p2pay/aggsign'

export interface SizeRow {
  /** payments made with the coin: AggSign layers; PPay the assignment and depth-1 layers */
  payments: number
  aggsignCoin: number
  aggsignWithCertificates: number
  ppayLayered: number
  /** ppayLayered / aggsignCoin */
  ratio: number
}

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v))

/** The sizes of coins paid 1..n times (the n of the samples given). */
export function wireSizes(agg: WireCoin[], ppay: CoinProof[], envelopes: Map<string, string>): SizeRow[] {
  return agg.map((coin, d) => {
    const certificates = [...new Set([coin.mint.cert, ...coin.layers.map(l => l.toCert)])].map(h => envelopes.get(h))
    const row = {
      payments: d + 1,
      aggsignCoin: bytes(coin),
      aggsignWithCertificates: bytes({ coin, certificates }),
      ppayLayered: bytes(ppay[d])
    }
    return { ...row, ratio: Math.round((row.ppayLayered / row.aggsignCoin) * 100) / 100 }
  })
}
