// Peer ids as accounts and bank members. One account must have one spelling:
// the bank key is a hash of the string, so "12D3Koo..." and the CID form of
// the same key would otherwise have two banks. Members sign votes, so only
// Ed25519 peer ids (which embed their key) can be accounts or members.
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, fail } from '@p2pay/core'

const MAX_ID = 128
const known = new Map<string, boolean>()

/** true when `id` is the canonical (base58btc) spelling of an Ed25519 peer id. */
export function isPeerId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) return false
  let ok = known.get(id)
  if (ok === undefined) {
    try {
      const pid = peerIdFromString(id)
      ok = pid.type === 'Ed25519' && pid.toString() === id
    } catch {
      ok = false
    }
    if (known.size > 16384) known.clear()
    known.set(id, ok)
  }
  return ok
}

export function checkPeerId(id: unknown, what: string): string {
  if (!isPeerId(id)) fail(ErrorCode.BAD_REQUEST, `${what} must be the canonical spelling of an Ed25519 peer id`)
  return id
}
