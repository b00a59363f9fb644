// The node's tables beside the wallet's (../tables.ts): coins paid on, signed
// and recorded, until their payee acknowledges them; a certificate request
// sent and not yet answered; renewals sent to a minter, and what they got.
import { table } from '@p2pay/core'
import type { WireCoin } from '../core/messages.ts'

export interface Delivery {
  /** the coin id */
  id: string
  to: string
  /** where the payer was told the payee listens */
  toAddrs: string[]
  /** the coin with its new layer: a retry sends these exact bodies, so the payee's answer is the same */
  coin: WireCoin
  /** the certificates the payee may lack */
  certs: string[]
  value: number
  at: number
  attempts: number
  /** a payee's refusal (not a timeout): not retried */
  refused?: { code: string; message: string }
}

/** The terms of a certificate request in flight: a retry sends the same, so the broker answers it the same. */
export interface Certifying {
  limit: number
  expiry: number
}

/**
 * A coin sent back to its minter (`to`) by its renewal layer, written before it leaves like a delivery (a retry sends
 * the same bodies, so the minter's answer is the same), kept with the fresh coin the minter paid for it.
 */
export interface Renewal extends Delivery {
  renewed?: string
}

export const WALLET_NET_TABLES = {
  outbox: table<Delivery>('aggsign-outbox', 'coin id -> a coin paid on, not yet acknowledged by its payee'),
  certifying: table<Certifying>(
    'aggsign-certifying',
    '"request" -> the terms of a certificate request not yet answered'
  ),
  renewing: table<Renewal>('aggsign-renewing', 'old coin id -> a renewal sent to its minter, and the fresh coin got')
}
