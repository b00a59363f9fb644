// The daemon's orderly stop, with a scheme of this test's own on a real daemon (libp2p, LevelDB, control API):
// new API requests are refused with 503 ABORTED, the scheme's work in flight is aborted and finishes (its last
// write lands) before LevelDB closes, and what was acknowledged is there after a restart.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type DaemonComponents } from '../src/daemon/daemon.ts'
import { Lifecycle, sleep } from '../src/daemon/lifecycle.ts'
import type { SchemeService } from '../src/daemon/scheme.ts'
import { buckets, table, type TablesOf } from '../src/store/tables.ts'
import { API_FILE, TOKEN_FILE } from '../src/daemon/control-api.ts'

const TABLES = { notes: table<{ text: string }>('demo-notes', 'id -> a note') }
const dir = mkdtempSync(join(tmpdir(), 'p2pay-daemon-stop-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** A scheme whose `POST /slow-note` waits on its signal, then writes what it was given: the write must land. */
class Demo implements SchemeService {
  readonly name = 'demo'
  readonly tables = TABLES
  readonly kinds = ['note'] as const
  readonly life: Lifecycle
  t?: TablesOf<typeof TABLES>
  stopped = false
  private readonly c: DaemonComponents
  constructor(c: DaemonComponents) {
    this.c = c
    this.life = new Lifecycle(c.logger)
  }

  async start(): Promise<void> {
    this.t = await this.c.store.tables(TABLES)
    this.life.every(5, 'demo tick', async () => {
      await this.c.store.apply(() => this.t!.notes.set('tick', { text: String(Date.now()) }))
    })
  }

  async stop(): Promise<void> {
    await this.life.stop()
    this.stopped = true
  }

  routes() {
    return {
      'POST /slow-note': async (b: any) =>
        await this.life.run('slow note', async signal => {
          await sleep(10_000, signal).catch(() => {}) // cut short by the stop
          await this.c.store.apply(() => this.t!.notes.set(String(b.id), { text: String(b.text) }))
          return { stored: b.id }
        }),
      'GET /notes': () => Object.fromEntries(this.t!.notes.entries())
    }
  }
}

const cfg = {
  'data-dir': join(dir, 'd'),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  announce: [],
  'api-port': 0,
  crypto: 'node',
  dht: false
}
let demo: Demo | undefined
const start = async () =>
  await startDaemon(
    {
      name: 'demo',
      buckets: buckets(TABLES),
      schemes: [{ name: 'demo', options: {}, create: () => (c: DaemonComponents) => (demo = new Demo(c)) }],
      components: base => base
    },
    cfg
  )

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const { apiPort } = JSON.parse(readFileSync(join(cfg['data-dir'], API_FILE), 'utf8'))
  const token = readFileSync(join(cfg['data-dir'], TOKEN_FILE), 'utf8').trim()
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body != null ? JSON.stringify(body) : undefined
  })
  return { status: res.status, json: await res.json() }
}

describe('a daemon stops in order', () => {
  it(
    'answers the request in flight, refuses new ones with 503 ABORTED, lets its schemes finish, ' + 'then closes',
    async () => {
      const d = await start()
      const inFlight = api('POST', '/v1/demo/slow-note', { id: 'a', text: 'kept' })
      await sleep(100)
      const stopping = d.stop()
      await sleep(10)
      const refused = await api('POST', '/v1/demo/slow-note', { id: 'b', text: 'never' }).catch(() => undefined)
      if (refused != null) assert.deepEqual([refused.status, refused.json.error.code], [503, 'ABORTED'])
      assert.deepEqual(await inFlight, { status: 200, json: { stored: 'a' } })
      await stopping
      assert.equal(demo?.stopped, true)
      const again = await start()
      const notes = (await api('GET', '/v1/demo/notes')).json
      assert.equal(notes.a.text, 'kept', 'an acknowledged write is lost')
      assert.equal(notes.b, undefined, 'a refused request was acted on')
      await again.stop()
    }
  )
})
