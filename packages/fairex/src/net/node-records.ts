// The rows a node keeps for the file market: the files it shares, its sales as
// a provider, its purchases (with the evidence a dispute needs), the cheques it
// has yet to deposit, and the ban records it honours.
import type { DepositItem } from '../core/accounting-records.ts'
import type { SaleForm } from '../core/sale-messages.ts'

export interface SharedFile {
  fileId: string
  path: string
  name: string
  size: number
  pieceSize: number
  pieceCount: number
  price: number
  form: SaleForm
  manifest: string
  manifestHash: string
  /** piece hashes, hex, concatenated */
  pieces: string
}

export interface SaleRecord {
  serial: string
  downloader: string
  fileId: string
  price: number
  /** written once the AC reserved the price; 'refused' only in data dirs of earlier releases (dropped at start) */
  status: 'sending' | 'refused' | 'paid'
  at: number
  error?: string
}

export interface PurchaseRecord {
  serial: string
  provider: string
  fileId: string
  price: number
  out: string
  status: 'downloading' | 'paid' | 'done' | 'dispute' | 'failed' | 'refunded'
  via?: 'key' | 'ttp' | 'judge'
  ruling?: string
  error?: string
  /**
   * the evidence D keeps once it has signed (2.3): enough for the TTP, the judge, and to check a key after a restart
   */
  evidence?: { dispute: unknown; complaint?: unknown; key: KeyCheck }
  at: number
}

/** What it takes to check a key and finish the file, without the in-memory purchase. */
export interface KeyCheck {
  fileId: string
  keyIndex: number
  pieceCount: number
  pieceSize: number
  sek: string
  pieces: string
  form: SaleForm
}

/** A countersigned cheque waiting for the next deposit. */
export type QueuedCheque = DepositItem & { id: string; at: number }

/** A ban record this node honours, by banned peer. */
export interface BanEntry {
  peer: string
  /** the judge's signed record, base64 */
  ban: string
  until: number
}

/** Piece hashes are stored as one hex string (64 digits each): back to bytes. */
export function splitHashes(hex: string): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < hex.length; i += 64) out.push(new Uint8Array(Buffer.from(hex.slice(i, i + 64), 'hex')))
  return out
}
