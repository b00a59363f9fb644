// The file market's LevelDB tables, bucket by bucket (key -> value): the
// broker keeps the AC's, the TTP its disputes, the judge its verdicts, a node
// its files, sales and purchases. The bucket names are those of earlier
// releases, so existing data dirs open unchanged.
import { table } from '@p2pay/core'
import type {
  AcBanRecord,
  AcMeta,
  CertificateRecord,
  ChequeRecord,
  DepositResult,
  HoldRecord
} from '../core/accounting-records.ts'
import type { DisputeRecord, PendingCheque, TtpMeta } from '../core/dispute.ts'
import type { BanRecord, JudgeMeta, KeptCheque, VerdictRecord } from '../core/judgment-records.ts'
import type { VoidJob } from './judgment-voids.ts'
import type { BanEntry, PurchaseRecord, QueuedCheque, SaleRecord, SharedFile } from './node-records.ts'

/** The broker's accounting centre; the accounts it moves money in are PPay's ledger's (`ppay-accounts`). */
export const ACCOUNTING_TABLES = {
  certificates: table<CertificateRecord>(
    'fairex-ac-certificates',
    'certificate hash -> its escrow: reserved, held, paid, released'
  ),
  certRequests: table<{ hash: string; certificate: string }>(
    'fairex-ac-certRequests',
    'peer|nonce -> the certificate request and the certificate it got'
  ),
  cheques: table<ChequeRecord>(
    'fairex-ac-cheques',
    'provider|downloader|serial -> one sale: reserved, held, paid or void'
  ),
  deposits: table<{ hash: string; at: number; result: DepositResult }>(
    'fairex-ac-deposits',
    'provider|nonce -> a deposit batch and its answer (a repeat gets the same)'
  ),
  holds: table<HoldRecord>('fairex-ac-holds', 'deposit hash -> a batch whose proceeds wait out the complaint window'),
  bans: table<AcBanRecord>('fairex-ac-bans', 'provider -> the end of its ban, and what its voided cheques still owe'),
  meta: table<AcMeta>('fairex-ac-meta', '"meta" -> escrow issued, paid, released, voided; fees; clawed back')
}

/** The TTP's. */
export const DISPUTE_TABLES = {
  disputes: table<DisputeRecord>('fairex-ttp-disputes', 'cheque hash -> a resolved dispute and the key it gave'),
  forProvider: table<PendingCheque>(
    'fairex-ttp-forProvider',
    'provider|dispute id -> a countersigned cheque its provider has not fetched'
  ),
  meta: table<TtpMeta>('fairex-ttp-meta', '"meta" -> disputes resolved, cheques delivered')
}

/** The judge's. */
export const JUDGMENT_TABLES = {
  verdicts: table<VerdictRecord>('fairex-judge-verdicts', 'cheque hash -> the one verdict on it'),
  bans: table<BanRecord>('fairex-judge-bans', 'ban hash -> a signed ban record'),
  kept: table<KeptCheque>(
    'fairex-judge-kept',
    'provider|cheque hash -> a countersigned cheque a keyOpensPiece verdict kept for its provider, until fetched'
  ),
  meta: table<JudgeMeta>('fairex-judge-meta', '"meta" -> verdicts, by ruling'),
  voids: table<VoidJob>('fairex-judge-voids', 'cheque hash -> the void a providerBan asks of the AC, and its outcome')
}

/** A node's. */
export const FAIREX_NODE_TABLES = {
  shared: table<SharedFile>('fairex-shared', 'file id -> a file this node sells: path, manifest, piece hashes'),
  sales: table<SaleRecord>('fairex-sales', 'downloader|serial -> a sale this node made as a provider'),
  purchases: table<PurchaseRecord>(
    'fairex-purchases',
    'downloader|serial -> a purchase, with the evidence a dispute needs'
  ),
  deposits: table<QueuedCheque>('fairex-deposits', 'id -> a countersigned cheque not yet deposited'),
  bans: table<BanEntry>('fairex-bans', 'peer id -> a ban record of the judge this node honours')
}
