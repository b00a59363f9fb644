// What the acknowledged transfers of the Karma scale benchmark leave each
// account, to compare majority reads and members' books with. A transfer whose
// call failed may still complete (the payer keeps it pending and retries the
// same bytes): after the drain, the payer's own records say which did.
import type { SwarmNode } from '../lib/karma-hosts.ts'

/** karma a join gives (the service's default) */
export const INITIAL = 1000

export class Ledger {
  readonly balances = new Map<string, number>()
  /** request hashes of the transfers applied here */
  private readonly applied = new Set<string>()
  /** payers one of whose transfer calls failed */
  private readonly unsure = new Set<SwarmNode>()
  readonly failures: string[] = []

  open(account: string): void {
    this.balances.set(account, INITIAL)
  }

  get(account: string): number | undefined {
    return this.balances.get(account)
  }

  private apply(hash: string, from: string, to: string, amount: number): void {
    if (this.applied.has(hash)) return
    this.applied.add(hash)
    this.balances.set(from, this.balances.get(from)! - amount)
    this.balances.set(to, this.balances.get(to)! + amount)
  }

  /** One transfer of 1 from `a` to `b`; whether it was acknowledged (both majorities). */
  async pay(a: SwarmNode, b: SwarmNode, phase: string): Promise<boolean> {
    try {
      const r = await a.host.call<{ requestHash: string }>('transfer', { index: a.index, to: b.id, amount: 1 })
      this.apply(r.requestHash, a.id, b.id, 1)
      return true
    } catch (err) {
      this.failures.push(`${phase} ${a.id} -> ${b.id}: ${(err as Error).message}`)
      this.unsure.add(a)
      return false
    }
  }

  /**
   * After the drain: transfers whose call failed but that the payer's records show done are applied (late); those
   * still pending, or whose payer left, are counted as unresolved.
   */
  async resolve(): Promise<{ late: number; pending: number; payerLeft: number }> {
    const out = { late: 0, pending: 0, payerLeft: 0 }
    for (const a of this.unsure) {
      if (!a.live) {
        out.payerLeft++
        continue
      }
      const rows = await a.host.call<Array<{ requestHash: string; to: string; amount: number; status: string }>>(
        'sent',
        { index: a.index }
      )
      for (const r of rows) {
        if (this.applied.has(r.requestHash)) continue
        if (r.status === 'done') {
          this.apply(r.requestHash, a.id, r.to, r.amount)
          out.late++
        } else out.pending++
      }
    }
    return out
  }
}
