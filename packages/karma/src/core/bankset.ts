// bank(A): the k peers closest in the kad-dht keyspace to H("karma|" + A).
//
// Ids and distances are exactly kad-dht's (utils.ts convertPeerId /
// convertBuffer): a peer's kad id is sha256 of its peer id's multihash bytes,
// a key's is sha256 of the key bytes, and closeness is XOR distance. So the
// service can pass `bankKeyBytes(A)` to `dht.getClosestPeers` and rank what comes
// back with `bankSet`.
//
// Every member must compute the set the same way: getClosestPeers never returns
// the asking node, and two nodes agreed on a set only 75-85% of the time until
// each counted itself as a candidate too (libp2p-v3.md). Hence `bankSetFromQuery`.
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, checkPeerId, fail, isPeerId, sha256, utf8 } from '@p2pay/core'

/** Upper bound on k: a bank-set is a handful of peers, every one of them talks to every other (O(k^2)). */
export const MAX_K = 64

const kadIds = new Map<string, Uint8Array>()

/** sha256 of the peer id's multihash bytes, as kad-dht's `convertPeerId`. */
export function kadIdOfPeer(peerId: string): Uint8Array {
  let id = kadIds.get(peerId)
  if (id === undefined) {
    let pid
    try {
      pid = peerIdFromString(peerId)
    } catch {
      fail(ErrorCode.BAD_REQUEST, `not a peer id: ${String(peerId).slice(0, 80)}`)
    }
    id = sha256(pid.toMultihash().bytes)
    if (kadIds.size > 16384) kadIds.clear()
    kadIds.set(peerId, id)
  }
  return id
}

/** sha256 of the key bytes, as kad-dht's `convertBuffer`. */
export const kadIdOfKey = (key: Uint8Array): Uint8Array => sha256(key)

/** The key to hand to `dht.getClosestPeers` for bank(account); the DHT hashes it itself. */
export const bankKeyBytes = (account: string): Uint8Array => utf8('karma|' + account)

/** The kad id bank(account) is centred on. */
export const bankKey = (account: string): Uint8Array => kadIdOfKey(bankKeyBytes(account))

/** XOR distance of two 32-byte kad ids. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const d = new Uint8Array(32)
  for (let i = 0; i < 32; i++) d[i] = a[i] ^ b[i]
  return d
}

/** < 0 when `a` is closer to `target` than `b`, > 0 when farther, 0 when equal. */
export function xorCompare(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] ^ target[i]) - (b[i] ^ target[i])
    if (d !== 0) return d
  }
  return 0
}

/**
 * The k candidates closest to bankKey(account), closest first. The account is
 * never its own bank; duplicates count once; candidates that cannot sign votes
 * (not a canonical Ed25519 peer id) are skipped, the same way on every node.
 * Distinct peer ids have distinct kad ids, so there are no ties and the result
 * depends only on the candidate set, not its order.
 */
export function bankSet(account: string, candidates: Iterable<string>, k: number): string[] {
  checkPeerId(account, 'account')
  return closestToKey(
    bankKeyBytes(account),
    [...candidates].filter(c => c !== account),
    k
  )
}

/** The key whose closest peers coordinate epoch `epoch` (they sign its rescale factor). */
export const epochKeyBytes = (epoch: number): Uint8Array => utf8('karma-epoch|' + epoch)

/** The k candidates closest to sha256(keyBytes), with bankSet's rules (no account to leave out). */
export function closestToKey(keyBytes: Uint8Array, candidates: Iterable<string>, k: number): string[] {
  if (!Number.isSafeInteger(k) || k < 1 || k > MAX_K) fail(ErrorCode.BAD_REQUEST, `k must be 1..${MAX_K}`)
  const target = kadIdOfKey(keyBytes)
  const ids = new Set<string>()
  for (const c of candidates) if (isPeerId(c)) ids.add(c)
  return [...ids]
    .map(id => ({ id, kad: kadIdOfPeer(id) }))
    .sort((a, b) => xorCompare(target, a.kad, b.kad))
    .slice(0, k)
    .map(x => x.id)
}

/** The set as every node must compute it: what its DHT query returned plus the node itself. */
export function bankSetFromQuery(account: string, queried: Iterable<string>, self: string, k: number): string[] {
  return bankSet(account, [...queried, self], k)
}
