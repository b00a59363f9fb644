// control-api.ts: bearer token, routes, status mapping, body limits; the token file.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  startControlApi,
  loadOrCreateToken,
  TOKEN_FILE,
  type ControlApi,
  type Routes
} from '../src/daemon/control-api.ts'
import { Metrics } from '../src/metrics.ts'
import { createLogger } from '../src/log.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'p2pay-core-api-'))
const TOKEN = 'a'.repeat(64)
const MAX_BODY = 1024 * 1024

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json?: any
}

function call(
  port: number,
  method: string,
  path: string,
  opts: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers }
    const token = opts.token === undefined ? TOKEN : opts.token
    if (token !== null) headers.authorization = `Bearer ${token}`
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(opts.body))
    }
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('error', reject)
    })
    // a refused upload may see its socket closed under it: only the response matters
    req.on('error', reject)
    if (opts.body !== undefined) req.write(opts.body)
    req.end()
  })
}

const logLines: string[] = []
const metrics = new Metrics()
let api: ControlApi
let port: number
const seen: Array<{ body: unknown; q: string | null }> = []

const routes: Routes = {
  'GET /v1/ok': (_b, q) => ({ ok: true, x: q.get('x') }),
  'POST /v1/echo': (body, q) => {
    seen.push({ body, q: q.get('q') })
    return { got: body }
  },
  'GET /v1/undefined': () => undefined,
  'GET /v1/async': async () => await Promise.resolve({ later: 1 }),
  'GET /v1/unreachable': () => {
    throw new P2payError(ErrorCode.UNREACHABLE, 'peer is gone')
  },
  'GET /v1/not-found': async () => {
    throw new P2payError(ErrorCode.NOT_FOUND, 'no such coin', { sn: 'x' })
  },
  'GET /v1/funds': () => {
    throw new P2payError(ErrorCode.INSUFFICIENT_FUNDS, 'balance 3 < 5')
  },
  'GET /v1/fraud': () => {
    throw new P2payError(ErrorCode.FRAUD, 'double spend')
  },
  'GET /v1/timeout': () => {
    throw new P2payError(ErrorCode.TIMEOUT, 'slow')
  },
  'GET /v1/plain': () => {
    throw new Error('kaboom')
  },
  'GET /v1/string': () => {
    throw 'raw string'
  }
}

before(async () => {
  metrics.messageSent('buy', 3)
  api = await startControlApi({
    port: 0,
    token: TOKEN,
    routes,
    metrics,
    log: createLogger('test', 'debug', l => {
      logLines.push(l)
    })
  })
  port = api.port
})
after(async () => {
  await api?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('control API', () => {
  it('listens on 127.0.0.1 on the port the OS chose', () => {
    assert.ok(port > 0)
    const addr = api.server.address()
    assert.ok(addr != null && typeof addr === 'object')
    assert.equal(addr.address, '127.0.0.1')
    assert.equal(addr.port, port)
  })

  it('401 without a token, with a wrong token, with a wrong scheme; before any routing', async () => {
    for (const [token, headers] of [
      [null, undefined],
      ['b'.repeat(64), undefined],
      ['a'.repeat(63), undefined],
      [TOKEN + 'a', undefined],
      ['', undefined],
      [null, { authorization: `Basic ${TOKEN}` }],
      [null, { authorization: TOKEN }]
    ] as Array<[string | null, Record<string, string> | undefined]>) {
      for (const path of ['/v1/ok', '/metrics', '/no/such/route']) {
        const r = await call(port, 'GET', path, { token, headers })
        assert.equal(r.status, 401, `${String(token).slice(0, 8)} ${path}`)
        assert.equal(r.json?.error?.code, ErrorCode.UNAUTHORIZED)
      }
    }
    const p = await call(port, 'POST', '/v1/echo', { token: null, body: '{"a":1}' })
    assert.equal(p.status, 401)
    assert.equal(seen.length, 0, 'the route never ran')
  })

  it('200 with the token; query string reaches the route; undefined result is {}', async () => {
    const r = await call(port, 'GET', '/v1/ok?x=42')
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /application\/json/)
    assert.deepEqual(r.json, { ok: true, x: '42' })
    assert.deepEqual((await call(port, 'GET', '/v1/undefined')).json, {})
    assert.deepEqual((await call(port, 'GET', '/v1/async')).json, { later: 1 })
  })

  it('/metrics serves Prometheus text behind the token', async () => {
    const r = await call(port, 'GET', '/metrics')
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /^text\/plain/)
    assert.match(r.text, /^p2pay_messages_sent_total\{kind="buy"\} 3$/m)
    assert.match(r.text, /# TYPE p2pay_messages_sent_total counter/)
  })

  it('404 for an unknown route or a known path with the wrong method', async () => {
    for (const [m, p] of [
      ['GET', '/v1/nope'],
      ['POST', '/v1/ok'],
      ['GET', '/v1/echo'],
      ['DELETE', '/v1/ok'],
      ['POST', '/metrics']
    ]) {
      const r = await call(port, m, p, m === 'POST' ? { body: '{}' } : {})
      assert.equal(r.status, 404, `${m} ${p}`)
      assert.equal(r.json?.error?.code, ErrorCode.NOT_FOUND)
    }
  })

  it('POST: a JSON object body reaches the route; empty body is {}; anything else is 400', async () => {
    seen.length = 0
    const ok = await call(port, 'POST', '/v1/echo?q=1', { body: JSON.stringify({ a: 1, b: [2] }) })
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.json, { got: { a: 1, b: [2] } })
    assert.deepEqual(seen, [{ body: { a: 1, b: [2] }, q: '1' }])
    assert.deepEqual((await call(port, 'POST', '/v1/echo')).json, { got: {} })
    for (const body of ['[1,2]', '"str"', 'null', '5', 'true', '{bad json', '{"a":1} trailing', '\xff']) {
      const r = await call(port, 'POST', '/v1/echo', { body })
      assert.equal(r.status, 400, body)
      assert.equal(r.json?.error?.code, ErrorCode.BAD_REQUEST, body)
    }
    assert.equal(seen.length, 2, 'bad bodies never reach the route')
  })

  it('413 with Connection: close for a body over 1 MiB; exactly 1 MiB is accepted', async () => {
    seen.length = 0
    const big = Buffer.alloc(MAX_BODY + 1, 0x20) // whitespace: would parse as an (invalid) JSON body if read
    const r = await call(port, 'POST', '/v1/echo', { body: big })
    assert.equal(r.status, 413)
    assert.equal(r.headers.connection, 'close')
    assert.equal(r.json?.error?.code, ErrorCode.FRAME_TOO_LARGE)
    const justRight = Buffer.alloc(MAX_BODY, 0x20)
    justRight.write('{"k":1}')
    const ok = await call(port, 'POST', '/v1/echo', { body: justRight })
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.json, { got: { k: 1 } })
    assert.equal(seen.length, 1)
  })

  it(
    "maps P2payError codes: UNREACHABLE 502, NOT_FOUND 404, TIMEOUT 504, others 400; body is the error's " + 'JSON',
    async () => {
      const cases: Array<[string, number, string]> = [
        ['/v1/unreachable', 502, ErrorCode.UNREACHABLE],
        ['/v1/not-found', 404, ErrorCode.NOT_FOUND],
        ['/v1/timeout', 504, ErrorCode.TIMEOUT],
        ['/v1/funds', 400, ErrorCode.INSUFFICIENT_FUNDS],
        ['/v1/fraud', 400, ErrorCode.FRAUD]
      ]
      for (const [path, status, c] of cases) {
        const r = await call(port, 'GET', path)
        assert.equal(r.status, status, path)
        assert.equal(r.json?.error?.code, c, path)
      }
      const nf = await call(port, 'GET', '/v1/not-found')
      assert.deepEqual(nf.json, { error: { code: 'NOT_FOUND', message: 'no such coin', details: { sn: 'x' } } })
    }
  )

  it('a plain Error (or a thrown non-Error) is 500 INTERNAL and is logged', async () => {
    logLines.length = 0
    const r = await call(port, 'GET', '/v1/plain')
    assert.equal(r.status, 500)
    assert.equal(r.json?.error?.code, ErrorCode.INTERNAL)
    const s = await call(port, 'GET', '/v1/string')
    assert.equal(s.status, 500)
    assert.equal(s.json?.error?.code, ErrorCode.INTERNAL)
    const logged = logLines.map(l => JSON.parse(l))
    assert.equal(logged.length, 2)
    assert.equal(logged[0].level, 'error')
    assert.equal(logged[0].path, '/v1/plain')
    assert.equal(logged[0].err.message, 'kaboom')
  })

  it('keeps serving after errors (keep-alive server still answers)', async () => {
    assert.equal((await call(port, 'GET', '/v1/ok')).status, 200)
  })
})

describe('loadOrCreateToken', () => {
  it('creates a 0600 token file once and returns the same token after', () => {
    const dir = mkdtempSync(join(root, 'tok-'))
    const t1 = loadOrCreateToken(dir)
    assert.match(t1, /^[0-9a-f]{64}$/)
    const file = join(dir, TOKEN_FILE)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(readFileSync(file, 'utf8'), t1 + '\n')
    assert.equal(loadOrCreateToken(dir), t1)
    assert.equal(loadOrCreateToken(dir), t1)
    const other = loadOrCreateToken(mkdtempSync(join(root, 'tok-')))
    assert.notEqual(other, t1, 'each data dir gets its own token')
  })

  it('the token it writes opens the API', async () => {
    const dir = mkdtempSync(join(root, 'tok-'))
    const token = loadOrCreateToken(dir)
    const a = await startControlApi({ port: 0, token, routes, metrics, log: createLogger('t', 'error', () => {}) })
    try {
      assert.equal((await call(a.port, 'GET', '/v1/ok', { token })).status, 200)
      assert.equal((await call(a.port, 'GET', '/v1/ok', { token: TOKEN })).status, 401)
    } finally {
      await a.close()
    }
  })
})
