// The capital certificates a downloader pays with. By default each purchase
// buys its own, for its price. With `--cert-value v` a certificate escrows v
// and pays for purchases until what is left of it is short of a price: the AC
// still reserves each sale's price under it (message 1.1 reaches the AC
// through the provider), so a certificate never pays more than its escrow,
// and one round trip to the AC per purchase is saved. What a certificate has
// not paid returns to the balance once it expires (plus the deposit grace).
import { ErrorCode, hasCode, randomId, toB64 } from '@p2pay/core'
import { signCertRequest } from '../core/messages.ts'
import type { NodeContext } from './node-context.ts'

/** a certificate this close to its expiry is not used for another purchase (a sale takes minutes at most) */
const EXPIRY_MARGIN_MS = 10 * 60_000
/** refusals that say the certificate itself cannot pay again: the next purchase gets a new one */
const CERTIFICATE_REFUSALS: readonly string[] = [
  ErrorCode.INSUFFICIENT_FUNDS,
  ErrorCode.EXPIRED,
  ErrorCode.NOT_FOUND,
  ErrorCode.WRONG_OWNER
]

interface Held {
  certificate: string
  /** what purchases on it have not yet claimed (each claims its price, reserved or not) */
  left: number
  expiry: number
}

/** A certificate for `max`, escrowed at the AC. */
async function issue(n: NodeContext, max: number): Promise<Held> {
  const req = signCertRequest(n.c.signer, { ac: n.c.broker.id, peer: n.me, max, nonce: randomId(16) })
  const r = await n.ac.call<{ certificate: string; max: number; expiry: number }>(
    n.c.broker,
    'certificate',
    { request: toB64(req.bytes) },
    { kind: 'fairex-cert' }
  )
  return { certificate: r.certificate, left: r.max, expiry: r.expiry }
}

/** rounds a purchase waits for a shared certificate that others emptied first, before it buys its own */
const MAX_SHARED_ROUNDS = 4

export class CertificateWallet {
  /** the escrow of one reusable certificate; 0: one certificate per purchase */
  private readonly value: number
  private held?: Held
  /** the reusable certificate being issued: concurrent purchases short of one wait for it, not issue their own */
  private issuing?: Promise<Held | undefined>

  constructor(value: number) {
    this.value = value
  }

  /**
   * A certificate that covers `price` for one purchase, its price claimed from
   * it at once (so concurrent purchases never count the same money twice).
   */
  async take(n: NodeContext, price: number): Promise<string> {
    if (this.value <= price) return (await issue(n, price)).certificate
    for (let round = 0; round < MAX_SHARED_ROUNDS; round++) {
      const h = this.held
      if (h != null && h.left >= price && h.expiry - Date.now() > EXPIRY_MARGIN_MS) {
        h.left -= price
        return h.certificate
      }
      // one issue at a time: N purchases at once would escrow N certificates, their remainders locked until expiry
      this.issuing ??= this.renew(n).finally(() => {
        this.issuing = undefined
      })
      // undefined: the balance or the AC's limit does not reach the reusable value, this purchase pays on its own
      if ((await this.issuing) == null) break
    }
    return (await issue(n, price)).certificate
  }

  /** A new reusable certificate in place of the held one; undefined when the balance or the AC's limit is short. */
  private async renew(n: NodeContext): Promise<Held | undefined> {
    try {
      this.held = await issue(n, this.value)
      return this.held
    } catch (err) {
      if (!hasCode(err, ErrorCode.INSUFFICIENT_FUNDS) && !hasCode(err, ErrorCode.BAD_REQUEST)) throw err
      return undefined
    }
  }

  /** A provider refused a purchase on `certificate` for a reason that holds for the certificate: drop it. */
  refused(certificate: string, code: string): void {
    if (this.held?.certificate === certificate && CERTIFICATE_REFUSALS.includes(code)) this.held = undefined
  }
}
