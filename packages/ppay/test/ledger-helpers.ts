// Helpers shared by the ledger tests: the fraud convictions on record and a
// downtime reassignment that must succeed.
import assert from 'node:assert/strict'
import type { CoinProof } from '../src/core/types.ts'
import { extendProof } from '../src/core/verify.ts'
import type { World } from './fixtures.ts'

/** [kind, cheater, pos] of every fraud proof, in detection order. */
export const convictions = (w: World): Array<[string, string, string]> =>
  [...w.ledger.t.frauds.values()].map(f => [f.kind, f.culprit, f.pos])

/** Downtime reassignment that must succeed: the proof one step on. */
export function viaBroker(w: World, proof: CoinProof, request: string): CoinProof {
  const r = w.ledger.downtimeReassign(proof, request)
  assert.equal(r.status, 'ok', JSON.stringify(r))
  if (r.status !== 'ok') throw new Error('unreachable')
  return extendProof(proof, { link: { assign: r.assign, request: r.request } })
}
