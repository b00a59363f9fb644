// Evidence an owner or payee found (a double spend, an owner's double
// assignment) on its way to the broker. It is written before it is sent, so a
// broker that cannot be reached, or a crash, does not lose it: the service's
// retry loop sends what is kept until the broker answers. The broker records a
// case once, so sending it again is harmless; a case the broker refuses for
// good (it does not check) is dropped with a warning.
import { canonicalJson, sha256Hex, utf8, type Logger, type Store, type Table } from '@p2pay/core'
import { errorOf, retryable, type WalletContext } from './wallet-context.ts'

export interface KeptEvidence {
  evidence: unknown
  /** when it was found */
  at: number
  attempts: number
}

/** What the broker convicted on a report. */
export interface Reported {
  fraud: string
  cheater?: string
}

export interface OutboxDeps {
  table: Table<KeptEvidence>
  store: Store
  send: (evidence: unknown) => Promise<Reported>
  log: Logger
}

export class EvidenceOutbox {
  private readonly d: OutboxDeps

  constructor(d: OutboxDeps) {
    this.d = d
  }

  /** The case's key here: the hash of the evidence as found (the same case found again is kept once). */
  static idOf(evidence: unknown): string {
    return sha256Hex(utf8(canonicalJson(evidence)))
  }

  /** Keeps `evidence` (on disk before it leaves), then sends it: what the broker convicted, or undefined. */
  async report(evidence: unknown): Promise<Reported | undefined> {
    const id = EvidenceOutbox.idOf(evidence)
    await this.d.store.apply(() => {
      if (!this.d.table.has(id)) this.d.table.set(id, { evidence, at: Date.now(), attempts: 0 })
    })
    return await this.send(id)
  }

  /** Sends one kept case: answered or refused for good, it is deleted; unreachable, it stays for the next round. */
  async send(id: string): Promise<Reported | undefined> {
    const kept = this.d.table.get(id)
    if (kept == null) return undefined
    try {
      const r = await this.d.send(kept.evidence)
      await this.d.store.apply(() => this.d.table.delete(id))
      this.d.log.warn('double spend reported', { case: id, fraud: r.fraud, cheater: r.cheater })
      return r
    } catch (err) {
      if (!retryable(err)) {
        await this.d.store.apply(() => this.d.table.delete(id))
        this.d.log.warn('evidence refused by the broker, dropped', { case: id, err: errorOf(err) })
        return undefined
      }
      await this.d.store.apply(() => {
        const now = this.d.table.get(id)
        if (now != null) this.d.table.set(id, { ...now, attempts: now.attempts + 1 })
      })
      this.d.log.warn('a double spend found, not reported yet', { case: id, err: errorOf(err) })
      return undefined
    }
  }

  /** Sends every kept case once; how many are still waiting. */
  async resend(): Promise<number> {
    for (const [id] of [...this.d.table.entries()]) await this.send(id)
    return this.d.table.size
  }
}

/** The node's outbox: its evidence table, reports to the broker under the long-term identity. */
export const outboxOf = (w: WalletContext): EvidenceOutbox =>
  new EvidenceOutbox({
    table: w.t.evidence,
    store: w.store,
    log: w.log.child('fraud'),
    send: async evidence =>
      await w.broker.call<Reported>(w.c.broker, 'report', { evidence }, { kind: 'whopay-open', timeoutMs: 60_000 })
  })
