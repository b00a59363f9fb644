// The fuzzer's world: a market (broker, TTP, judge, two nodes) as real
// processes, a scripted session through it (a PPay payment, a file sale,
// Karma joins and a transfer), and a recording peer in this process that takes
// part in it over the daemons' own protocols; every frame it sends is kept,
// per protocol and stream, as material to mutate.
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { RpcClient, Verifier, fromB64, nodeEd25519, randomId, sha256Hex } from '@p2pay/core'
import { FAIREX_PROTOCOL } from '@p2pay/fairex'
import { KARMA_PROTOCOL, bankSet } from '@p2pay/karma'
import { PROTOCOL, TAG } from '@p2pay/ppay'
import { Swarm, waitFor, type Daemon } from '../lib/swarm.ts'
import { RawPeer, bodyOf } from '../../test/helpers/raw-peer.ts'
import { certificateFor, rawBuy } from '../../test/helpers/raw-sale.ts'

const TOPUP = 1000
const PRICE = 25
const KARMA_K = 1

export interface World {
  swarm: Swarm
  broker: Daemon
  ttp: Daemon
  judge: Daemon
  A: Daemon
  B: Daemon
  C: Daemon
  daemons: Daemon[]
  /** the recording peer (also the fuzzer's own peer afterwards) */
  me: RawPeer
  /** protocol -> the frames of each stream the recording peer opened on it */
  captured: Map<string, Uint8Array[][]>
  /** "METHOD /path" -> bodies the session sent there */
  bodies: Map<string, unknown[]>
  /** protocol and frame of calls that answered ok in the session, by daemon: replayed as "a good request" */
  good: Map<Daemon, Array<{ protocol: string; frame: Uint8Array }>>
}

/** Keeps every byte `node` writes on streams it opens, per protocol and stream. */
function record(node: Libp2p, captured: Map<string, Uint8Array[][]>): () => void {
  const raw: Array<{ protocol: string; chunks: Uint8Array[] }> = []
  const dial = node.dialProtocol.bind(node)
  node.dialProtocol = (async (...args: Parameters<Libp2p['dialProtocol']>): Promise<Stream> => {
    const s = await dial(...args)
    const entry = { protocol: s.protocol ?? String(args[1]), chunks: [] as Uint8Array[] }
    raw.push(entry)
    const send = s.send.bind(s)
    s.send = (data: any): boolean => {
      // a copy: the buffer may be a view of a pool that is reused
      entry.chunks.push(Uint8Array.from(typeof data.subarray === 'function' ? data.subarray() : data))
      return send(data)
    }
    return s
  }) as Libp2p['dialProtocol']
  return () => {
    node.dialProtocol = dial as Libp2p['dialProtocol']
    for (const { protocol, chunks } of raw) {
      const frames = splitFrames(Buffer.concat(chunks))
      if (frames.length === 0) continue
      const list = captured.get(protocol) ?? []
      list.push(frames)
      captured.set(protocol, list)
    }
  }
}

/** The frames of a varint-length-prefixed byte sequence (a torn last frame is dropped). */
export function splitFrames(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let o = 0
  while (o < b.byteLength) {
    let len = 0
    let mul = 1
    let i = o
    for (; i < b.byteLength; i++) {
      len += (b[i] & 0x7f) * mul
      mul *= 128
      if ((b[i] & 0x80) === 0) break
    }
    if (i + 1 + len > b.byteLength) break
    out.push(Uint8Array.from(b.subarray(i + 1, i + 1 + len)))
    o = i + 1 + len
  }
  return out
}

/**
 * The daemons' V8 heap cap (unless P2PAY_NODE_ARGS names runtime flags): an uncapped heap grows under hostile load
 * and V8 keeps it, so resident memory would say little; capped, a leak ends in a daemon that exits.
 */
export const HEAP_CAP_MIB = 192

export async function startWorld(log: (s: string) => void): Promise<World> {
  const swarm = new Swarm('fuzz')
  const nodeArgs = process.env.P2PAY_NODE_ARGS
  process.env.P2PAY_NODE_ARGS = nodeArgs ?? `--max-old-space-size=${HEAP_CAP_MIB}`
  try {
    const m = await swarm.startMarket(['--deposit-fee', '1', '--proceeds-hold-s', '0'], ['--retry-interval-ms', '500'])
    const karma = ['--karma-k', String(KARMA_K), '--karma-pow-bits', '8', '--karma-sync-ms', '1000']
    // three: a Karma member's old bank (the k nearest without itself and the account) must exist
    const [A, B, C] = await swarm.startNodes(3, ['--auto-deposit-s', '0', ...m.nodeArgs, ...karma])
    const me = await RawPeer.start()
    const w: World = {
      swarm,
      broker: m.broker,
      ttp: m.ttp,
      judge: m.judge,
      A,
      B,
      C,
      daemons: [m.broker, m.ttp, m.judge, A, B, C],
      me,
      captured: new Map(),
      bodies: new Map(),
      good: new Map()
    }
    log(`world: broker ${m.broker.peerId}, nodes ${A.peerId} ${B.peerId} ${C.peerId}, fuzzer ${me.peerId}`)
    await session(w, log)
    return w
  } catch (err) {
    await swarm.stopAll()
    throw err
  } finally {
    if (nodeArgs === undefined) delete process.env.P2PAY_NODE_ARGS
    else process.env.P2PAY_NODE_ARGS = nodeArgs
  }
}

/** A control API call of the session; its body is kept as material for the HTTP fuzz. */
async function post(w: World, d: Daemon, path: string, body: unknown): Promise<any> {
  const key = `POST ${path}`
  w.bodies.set(key, [...(w.bodies.get(key) ?? []), body])
  return await d.api('POST', path, body)
}

async function session(w: World, log: (s: string) => void): Promise<void> {
  const { broker, A, B, me } = w
  for (const id of [A.peerId, B.peerId, me.peerId]) await post(w, broker, '/v1/topup', { account: id, amount: TOPUP })
  // PPay between the nodes, through their control APIs
  await post(w, A, '/v1/ppay/buy', { count: 4, value: 5 })
  await post(w, A, '/v1/ppay/pay', { to: B.peerId, amount: 5 })
  // the file market: A sells to B
  const path = join(w.swarm.dir, 'fuzz-file.bin')
  writeFileSync(path, randomBytes(200_000))
  const { fileId } = await post(w, A, '/v1/fairex/share', { path, price: PRICE, name: 'fuzz-file.bin' })
  await post(w, B, '/v1/fairex/buy', { provider: A.addr, fileId, out: join(w.swarm.dir, 'fuzz-out.bin') })
  // Karma: both join, A pays B
  // every node knows every other and computes the same bank-sets before any account opens: a view that changes
  // later hands accounts over while the fuzz runs, which would read as a change of state
  const nodes = [A, B, w.C]
  for (const d of nodes) for (const o of nodes) if (o !== d) await d.api('POST', '/v1/connect', { addr: o.addr })
  const ids = nodes.map(d => d.peerId)
  await waitFor(
    'karma bank-sets to agree',
    async () => {
      for (const d of nodes)
        for (const id of ids) {
          const { bank } = await d.api('GET', `/v1/karma/bankset?peer=${id}&fresh=1`)
          if (JSON.stringify(bank) !== JSON.stringify(bankSet(id, ids, KARMA_K))) return false
        }
      return true
    },
    60_000
  )
  // a refused join or transfer (a member still catching up) is retried
  for (const d of [A, B])
    await waitFor(`karma join of ${d.peerId}`, async () => await post(w, d, '/v1/karma/join', {}), 60_000)
  await waitFor(
    'karma transfer',
    async () => await post(w, A, '/v1/karma/transfer', { to: B.peerId, amount: 3 }),
    60_000
  )
  log('session: ppay payment, fairex sale and karma transfer between the nodes done')

  // the recording peer's part, over the wire
  const finish = record(me.node, w.captured)
  const calls: Array<{ d: Daemon; protocol: string; op: string; args: unknown }> = []
  const call = async (d: Daemon, protocol: string, op: string, args: unknown): Promise<any> => {
    const c = new RpcClient(me.node, multiaddr(d.addr), protocol, { defaultTimeoutMs: 15_000 })
    try {
      const r = await c.call(op, args)
      calls.push({ d, protocol, op, args })
      return r
    } finally {
      await c.close()
    }
  }
  try {
    const buy = me.key.sign(TAG.buy, {
      broker: broker.peerId,
      account: me.peerId,
      count: 2,
      value: 5,
      nonce: randomId(8)
    })
    const { coins } = await call(broker, PROTOCOL.broker, 'buy', { buy })
    await call(broker, PROTOCOL.broker, 'balance', {})
    const coin = coins[0] as string
    const { sn } = bodyOf<{ sn: string }>(coin)
    const hash = sha256Hex(fromB64(coin))
    const assign = me.key.sign(TAG.assign, {
      sn,
      coin: hash,
      owner: me.peerId,
      seq: 1,
      holder: B.peerId,
      request: null
    })
    await call(B, PROTOCOL.pay, 'deliver', { proof: { coin, chain: [{ assign }] } })
    await call(A, FAIREX_PROTOCOL.catalog, 'files', {})
    await call(w.judge, FAIREX_PROTOCOL.judge, 'bans', {})
    await call(w.ttp, FAIREX_PROTOCOL.ttp, 'pending', {})
    // Karma's reads, as a bank member or an account holder asks them (a refusal is material too)
    const karmaReads: Array<[string, unknown]> = [
      ['balance', { account: A.peerId, challenge: randomId(16) }],
      ['digest', { accounts: [A.peerId, B.peerId] }],
      ['requestsAfter', { account: A.peerId, after: 0 }],
      ['creditsTo', { account: B.peerId }],
      ['noticeOf', { requestHash: '0'.repeat(64) }],
      ['credited', { hashes: ['0'.repeat(64)] }],
      ['factor', { epoch: 0, attempt: 0 }]
    ]
    for (const [op, args] of karmaReads) await call(B, KARMA_PROTOCOL, op, args).catch(() => undefined)
    const cert = await certificateFor(me, broker.addr, broker.peerId, 100)
    await rawBuy({
      peer: me,
      verifier: new Verifier(nodeEd25519()),
      providerAddr: A.addr,
      provider: A.peerId,
      fileId,
      price: PRICE,
      ttp: w.ttp.peerId,
      judge: w.judge.peerId,
      certificate: cert.certificate
    })
  } finally {
    finish()
  }
  // a good request per daemon: an idempotent call of the session (read-only, or a repeat it answers as one)
  for (const c of calls) {
    if (!['balance', 'deliver', 'files', 'bans', 'pending'].includes(c.op)) continue
    const frame = new TextEncoder().encode(JSON.stringify({ id: 1, op: c.op, args: c.args }))
    w.good.set(c.d, [...(w.good.get(c.d) ?? []), { protocol: c.protocol, frame }])
  }
  const n = [...w.captured.values()].reduce((k, s) => k + s.reduce((j, f) => j + f.length, 0), 0)
  log(`session: recorded ${n} frames on ${w.captured.size} protocols`)
}

/** Every protocol id `d` registers, as identify tells a peer that connects to it. */
export async function protocolsOf(me: RawPeer, d: Daemon): Promise<string[]> {
  // asked afresh: what the peer store kept from an earlier connection may predate a scheme's start
  const identify = (me.node as Libp2p<{ identify: Identify }>).services.identify
  return await waitFor(`identify from ${d.kind}`, async () => {
    const conn = await me.node.dial(multiaddr(d.addr))
    const { protocols } = await identify.identify(conn, { signal: AbortSignal.timeout(10_000) })
    return protocols.length > 0 ? [...protocols].sort() : undefined
  })
}
