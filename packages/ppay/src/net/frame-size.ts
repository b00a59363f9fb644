// How many proofs go in one frame: batches are cut by their size on the wire,
// so a batch of long proofs (a coin reassigned many times) still fits the
// RPC frame limit (1 MiB) with room to spare.
import type { CoinProof } from '../core/types.ts'

/** bytes of proofs and requests one batch frame carries at most */
export const BATCH_FRAME_BYTES = 512 * 1024

/** A proof's size in a JSON frame, near enough: its base64 envelopes plus a little for the keys. */
export function proofBytes(p: CoinProof | undefined): number {
  if (p == null) return 0
  let n = 64 + (p.coin?.length ?? 0)
  for (const l of p.chain ?? []) n += 32 + (l.assign?.length ?? 0) + (l.request?.length ?? 0)
  for (const l of p.layers ?? []) n += 8 + l.length
  return n
}

/** `items` in runs whose sizes add up to at most `max` bytes (an item larger than that goes alone). */
export function chunkBySize<T>(items: T[], size: (x: T) => number, max = BATCH_FRAME_BYTES): T[][] {
  const out: T[][] = []
  let cur: T[] = []
  let bytes = 0
  for (const x of items) {
    const s = size(x)
    if (cur.length > 0 && bytes + s > max) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(x)
    bytes += s
  }
  if (cur.length > 0) out.push(cur)
  return out
}
