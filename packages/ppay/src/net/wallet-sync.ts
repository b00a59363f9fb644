// An owner's sync with the broker's downtime log: reassignments the broker made
// while the owner was away are adopted into its trail, and any that conflicts
// with what the owner signed goes back to the broker as evidence.
import { callBroker, type WalletContext } from './wallet-context.ts'

export interface SyncResult {
  applied: number
  adopted: number
  frauds: string[]
}

const syncing = new WeakMap<WalletContext, Promise<SyncResult>>()

/** One sync at a time: callers arriving meanwhile share its result. */
export async function sync(w: WalletContext): Promise<SyncResult> {
  let p = syncing.get(w)
  if (p == null) {
    p = syncOnce(w).finally(() => syncing.delete(w))
    syncing.set(w, p)
  }
  return await p
}

async function syncOnce(w: WalletContext): Promise<SyncResult> {
  let after = w.wallet.t.meta.get('meta')?.downtimeCursor ?? 0
  let applied = 0
  let adopted = 0
  const frauds: string[] = []
  while (true) {
    type Entry = { n: number; assign: string; request: string }
    const { entries } = await callBroker<{ entries: Entry[] }>(w, 'downtimeLog', { after }, 'sync')
    if (entries.length === 0) break
    for (const e of entries) {
      const r = await w.store.apply(() => w.wallet.applyDowntime(e))
      applied++
      if (r.adopted) adopted++
      if (r.conflict != null) {
        // the cursor moves past this entry only once the broker has the evidence
        type Reported = { frauds: Array<{ id: string; culprit: string }> }
        const rep = await callBroker<Reported>(w, 'report', { proof: r.conflict }, 'sync')
        for (const f of rep.frauds) {
          frauds.push(f.id)
          w.log.child('sync').warn('fraud detected while syncing', { fraud: f.id, culprit: f.culprit })
        }
      }
      await w.store.apply(() => w.wallet.syncedTo(e.n))
      after = e.n
    }
  }
  return { applied, adopted, frauds }
}
