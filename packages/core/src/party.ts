// Peers named on the command line or in an API call: a peer id, or a multiaddr
// ending in /p2p/<peer id> that also says where to dial it. Every peer from
// outside comes through here, so a bad one is BAD_REQUEST before anything runs.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, fail } from './errors.ts'
import { checkMultiaddr, checkPeerId } from './validate.ts'

export interface Party {
  id: string
  /** a multiaddr ending in /p2p/<id>, when the caller knows where the peer listens */
  addr?: string
}

/** A peer id, or a multiaddr ending in /p2p/<peer id>. */
export function party(s: unknown, what = 'peer'): Party {
  if (typeof s !== 'string' || s === '') fail(ErrorCode.BAD_REQUEST, `${what} is required`)
  if (!s.startsWith('/')) return { id: checkPeerId(s, what) }
  return { id: peerIdOfAddr(s, what), addr: s }
}

/** A required flag naming a peer by its multiaddr, ending in /p2p/<peer id> (e.g. --broker): BAD_REQUEST otherwise. */
export function partyAt(value: string | undefined, flag: string): Party & { addr: string } {
  if (value == null || value === '') fail(ErrorCode.BAD_REQUEST, `${flag} <multiaddr>/p2p/<peer id> is required`)
  const p = party(value, flag)
  if (p.addr == null) fail(ErrorCode.BAD_REQUEST, `${flag} must be a multiaddr ending in /p2p/<peer id>, got ${value}`)
  return { id: p.id, addr: p.addr }
}

/** The peer id a multiaddr ends in (the last /p2p/: a relayed address names its relay first), or BAD_REQUEST. */
export function peerIdOfAddr(addr: string, what = 'address'): string {
  const last = checkMultiaddr(addr, what).getComponents().at(-1)
  if (last?.name !== 'p2p' || last.value == null)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a multiaddr ending in /p2p/<peer id>, got ${addr}`)
  return last.value
}

/** The address part of a party's multiaddr (without its /p2p/<id>), to dial it at; none for a bare peer id. */
export function dialAddrs(p: Party): string[] {
  return p.addr != null ? [p.addr.slice(0, p.addr.lastIndexOf('/p2p/'))] : []
}

/** Where to dial a party: its multiaddr when known, else its peer id (the peer store and the DHT find it). */
export function dialTarget(p: Party): PeerId | Multiaddr {
  // checked again: a party may have been put together from parts (an id and a caller's address)
  return p.addr != null ? checkMultiaddr(p.addr, 'address') : peerIdFromString(checkPeerId(p.id, 'peer'))
}
