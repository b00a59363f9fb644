// What a daemon gives out as its addresses. libp2p announces a public address it
// listens on only once something confirms that others can dial it (AutoNAT), so
// a daemon listening on 0.0.0.0 on a host with a public address announces
// 127.0.0.1 alone unless it is given --announce: nobody else can reach it.
import type { Multiaddr } from '@multiformats/multiaddr'

const isLoopback = (a: string): boolean => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/')

/** Whether the daemon listens beyond loopback but announces loopback addresses only (or none). */
export function announcesOnlyLoopback(listen: string[], announced: Multiaddr[]): boolean {
  const beyond = listen.some(a => !isLoopback(a) && !a.includes('/p2p-circuit'))
  return beyond && announced.every(a => isLoopback(a.toString()))
}
