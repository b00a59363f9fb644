// Wallets on the same clock as a broker's ledger: each certified through the
// ledger with the request its wallet makes.
import { memoryTables } from '@p2pay/core'
import { Wallet } from '../src/core/wallet.ts'
import { WALLET_TABLES } from '../src/tables.ts'
import { CERT_TTL, MAX_LAYERS, T0, peer, verifier, type Peer } from './fixtures.ts'
import { topup, type World } from './ledger-fixtures.ts'

export interface Party extends Peer {
  wallet: Wallet
  /** its certificate envelope, base64 */
  cert: string
  certHash: string
}

export async function party(w: World, limit = 0, maxLayers = MAX_LAYERS): Promise<Party> {
  const p = await peer()
  const wallet = new Wallet(memoryTables(WALLET_TABLES), p.id, verifier, {
    broker: w.broker.id,
    maxLayers,
    now: w.clock.now
  })
  if (limit > 0) topup(w, p, limit)
  const q = wallet.certRequest(limit, T0 + CERT_TTL)
  const r = w.ledger.certify(q.peer, q.key, q.pop, q.limit, q.expiry)
  wallet.addCertificate(r.certificate)
  return { ...p, wallet, cert: r.certificate, certHash: r.hash }
}

/** `from` pays coin `id` to `to`: `to` sends its certificate first, `from` sends the coin and its certificates. */
export function pay(from: Party, to: Party, id: string): ReturnType<Wallet['accept']> {
  from.wallet.learnCertificates([to.cert])
  const { coin } = from.wallet.pay(id, to.certHash)
  return to.wallet.accept(coin, from.wallet.certificatesOf(coin))
}
