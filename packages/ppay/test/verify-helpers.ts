// Helpers shared by the verification tests: verifyProof's options for a world
// and a freshly bought coin with its hash.
import { verifyCoin } from '../src/core/verify.ts'
import { verifier, buyCoins, MAX_LAYERS, type World } from './fixtures.ts'

export const opts = (w: World, over: Partial<{ now: number; allowExpired: boolean; maxLayers: number }> = {}) => ({
  broker: w.broker.id,
  now: w.clock.t,
  maxLayers: MAX_LAYERS,
  kind: 'test',
  ...over
})

export function ownCoin(w: World): { sn: string; coin: string; hash: string } {
  const [c] = buyCoins(w, w.X, 1, 10)
  return { sn: c.sn, coin: c.coin, hash: verifyCoin(verifier, c.coin, w.broker.id, 'test').hash }
}
