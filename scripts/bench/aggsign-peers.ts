// The peers of the fraud benchmark: each an Ed25519 identity (its peer id, the
// account both brokers pay) with a BLS key for AggSign. Both schemes' coins
// move between the same peers.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { nodeEd25519, signerFor, type Signer } from '@p2pay/core'
import { generateKey, type BlsKeyPair } from '@p2pay/aggsign'

export interface BenchPeer {
  signer: Signer
  id: string
  bls: BlsKeyPair
}

export async function makePeers(n: number): Promise<BenchPeer[]> {
  const backend = nodeEd25519()
  return await Promise.all(
    Array.from({ length: n }, async () => {
      const signer = signerFor(await generateKeyPair('Ed25519'), backend)
      return { signer, id: signer.peerId, bls: generateKey() }
    })
  )
}

/** Every coin of the benchmark is worth this; value changes no signature's cost. */
export const COIN_VALUE = 1
/** A fixed clock: nothing expires while the benchmark runs. */
export const T0 = 1_700_000_000_000
export const HOUR_MS = 3600_000
