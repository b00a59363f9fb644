// The routes every daemon has, on real daemons (libp2p, LevelDB, control API): a bad peer id or multiaddr in a
// request is 400 BAD_REQUEST and changes nothing, never a parser's 500; the stream probe and the cheat routes are
// there only when the daemon is asked for them, and it says so loudly at start.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type DaemonComponents, type RunningDaemon } from '../src/daemon/daemon.ts'
import { API_FILE, TOKEN_FILE } from '../src/daemon/control-api.ts'
import { Lifecycle } from '../src/daemon/lifecycle.ts'
import type { SchemeService } from '../src/daemon/scheme.ts'
import { DIAG_PROTOCOL, streamThroughput } from '../src/wire/diag.ts'

const dir = mkdtempSync(join(tmpdir(), 'p2pay-daemon-routes-'))
/** A serves the probe and the cheat routes, B (the default) neither; `warned` is what each logged as a warning. */
let A: RunningDaemon, B: RunningDaemon
const warned: Record<string, string[]> = {}

/** A scheme with one cheat route. */
const demo = (c: DaemonComponents): SchemeService => ({
  name: 'demo',
  tables: {},
  kinds: [],
  life: new Lifecycle(c.logger),
  start: async () => {},
  stop: async () => {},
  routes: () => ({}),
  cheats: () => ({ 'POST /lie': () => ({ lied: true }) })
})

async function start(name: string, on: boolean): Promise<RunningDaemon> {
  const write = process.stderr.write.bind(process.stderr)
  const lines: string[] = []
  process.stderr.write = ((l: string) => lines.push(String(l)) > 0) as typeof process.stderr.write
  try {
    return await startDaemon(
      {
        name: 'demo',
        buckets: {},
        schemes: [{ name: 'demo', options: {}, create: () => demo }],
        components: base => base,
        cheats: () => on,
        diag: () => on
      },
      {
        'data-dir': join(dir, name),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        announce: [],
        'api-port': 0,
        crypto: 'node',
        dht: false
      }
    )
  } finally {
    process.stderr.write = write
    warned[name] = lines
      .filter(l => l.startsWith('{"ts"'))
      .map(l => JSON.parse(l))
      .flatMap(l => (l.level === 'warn' ? [l.msg as string] : []))
  }
}

async function api(name: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const { apiPort } = JSON.parse(readFileSync(join(dir, name, API_FILE), 'utf8'))
  const token = readFileSync(join(dir, name, TOKEN_FILE), 'utf8').trim()
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body != null ? JSON.stringify(body) : undefined
  })
  return { status: res.status, json: await res.json() }
}

const idOf = (d: RunningDaemon): string => d.ctx.components.network.peerId.toString()
const addrOf = (d: RunningDaemon): string => d.ctx.components.network.getMultiaddrs()[0].toString()
/** What a refused request must leave as it was: A's connections and the peers it knows. */
const state = async (): Promise<unknown> => ({
  status: (await api('A', 'GET', '/v1/status')).json,
  peers: (await A.ctx.components.network.peerStore.all()).map(p => p.id.toString()).sort()
})

async function refused(method: string, path: string, body: unknown): Promise<void> {
  const s0 = await state()
  const r = await api('A', method, path, body)
  assert.deepEqual([r.status, r.json.error?.code], [400, 'BAD_REQUEST'], `${path} ${JSON.stringify(body)}`)
  assert.equal(typeof r.json.error.message, 'string')
  assert.deepEqual(await state(), s0, 'state changed')
}

before(async () => {
  A = await start('A', true)
  B = await start('B', false)
})
after(async () => {
  await A?.stop()
  await B?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('a bad peer id or multiaddr in a request is 400 BAD_REQUEST', () => {
  it('POST /v1/connect', async () => {
    const bads: unknown[] = [
      'x',
      '/ip4/999.1.1.1/tcp/1',
      '/ip4/127.0.0.1/tcp/99999',
      '/ip4/127.0.0.1/tcp/1/p2p/garbage',
      `/ip4/127.0.0.1/tcp/1/p2p/${idOf(B)}x`,
      '',
      '/',
      5,
      null
    ]
    for (const addr of bads) await refused('POST', '/v1/connect', { addr })
    await refused('POST', '/v1/connect', {})
  })

  it('POST /v1/diag/stream', async () => {
    const bads: unknown[] = [
      'x',
      'garbage',
      `${idOf(B)}x`,
      `/ip4/999.1.1.1/tcp/1/p2p/${idOf(B)}`,
      '/ip4/127.0.0.1/tcp/1',
      '/ip4/127.0.0.1/tcp/1/p2p/garbage',
      5
    ]
    for (const to of bads) await refused('POST', '/v1/diag/stream', { to, bytes: 1024 })
    await refused('POST', '/v1/diag/stream', {})
    await refused('POST', '/v1/diag/stream', { bytes: 1024 })
  })

  it('the good requests are served', async () => {
    assert.deepEqual(await api('A', 'POST', '/v1/connect', { addr: addrOf(B) }), {
      status: 200,
      json: { peer: idOf(B) }
    })
    // A serves the probe: B's node streams to it
    const r = await streamThroughput(B.ctx.components.network, A.ctx.components.network.peerId, 4096, 1024)
    assert.equal(r.bytes, 4096)
  })
})

describe('the stream probe and the cheat routes are served only when asked for', () => {
  it('a daemon asked for them warns at start; one not asked for says nothing', () => {
    assert.deepEqual(warned.B, [])
    assert.equal(warned.A.length, 2)
    assert.match(warned.A[0], /cheat routes are on \(--allow-cheats\)/)
    assert.match(warned.A[1], /stream probe is on \(--diag\)/)
  })

  it('cheat routes: only on the daemon asked for them', async () => {
    assert.deepEqual(await api('A', 'POST', '/v1/demo/cheat/lie', {}), { status: 200, json: { lied: true } })
    assert.deepEqual((await api('B', 'POST', '/v1/demo/cheat/lie', {})).status, 404)
  })

  it('a daemon without the probe has no route and no protocol', async () => {
    assert.deepEqual((await api('B', 'POST', '/v1/diag/stream', { to: idOf(A), bytes: 1024 })).status, 404)
    assert.equal(B.ctx.components.network.getProtocols().includes(DIAG_PROTOCOL), false)
    assert.equal(A.ctx.components.network.getProtocols().includes(DIAG_PROTOCOL), true)
    // A's probe to B is refused by B's node: UNREACHABLE, not a 500
    const r = await api('A', 'POST', '/v1/diag/stream', { to: addrOf(B), bytes: 1024 })
    assert.deepEqual([r.status, r.json.error?.code], [502, 'UNREACHABLE'])
  })
})
