// The control API: JSON over HTTP on 127.0.0.1 (or --api-host), every request must carry
// `Authorization: Bearer <token>` where the token is read from a file in the
// daemon's data dir (like a cookie file). Prometheus `/metrics` sits behind the
// same token. The dashboard's page (plain files, no data in them) is the one
// thing served without the token: it asks the user for it.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { existsSync, readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs'
import { extname, join } from 'node:path'
import { timingSafeEqual } from 'node:crypto'
import { randomId } from '../bytes.ts'
import { ErrorCode, P2payError, asError } from '../errors.ts'
import type { Metrics } from '../metrics.ts'
import type { Logger } from '../log.ts'
import type { Lifecycle } from './lifecycle.ts'

// node:http through the builtin loader, not an ESM import: the ESM facade reads every export, and http's lazy
// WebSocket getters then load undici (about 13 MiB resident) into every daemon
const { createServer } = process.getBuiltinModule('node:http')

export const TOKEN_FILE = 'api.token'
export const API_FILE = 'api.json'
const MAX_BODY = 1024 * 1024

export type Route = (body: any, query: URLSearchParams) => Promise<unknown> | unknown
export type Routes = Record<string, Route> // key: "GET /v1/balance"

export function loadOrCreateToken(dataDir: string): string {
  const file = join(dataDir, TOKEN_FILE)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const token = randomId(32)
  writeFileSync(`${file}.tmp`, token + '\n', { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
  return token
}

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.UNKNOWN_OP]: 404,
  [ErrorCode.FRAME_TOO_LARGE]: 413,
  [ErrorCode.UNREACHABLE]: 502,
  [ErrorCode.REPLY_TOO_LARGE]: 502,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.ABORTED]: 503,
  [ErrorCode.NO_SPACE]: 507,
  [ErrorCode.BUSY]: 503,
  [ErrorCode.STORE_FAILED]: 503,
  [ErrorCode.INTERNAL]: 500
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) + '\n' : String(body)
  // after a refused body the rest of it is unread: the connection cannot be reused
  const close = status === 413 ? { connection: 'close' } : {}
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...close })
  res.end(text)
  const socket = res.socket
  if (status === 413) res.once('finish', () => socket?.destroy())
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of req) {
    n += (c as Buffer).length
    if (n > MAX_BODY) throw new P2payError(ErrorCode.FRAME_TOO_LARGE, `request body over ${MAX_BODY} bytes`)
    chunks.push(c as Buffer)
  }
  if (n === 0) return {}
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object')
    return v
  } catch {
    throw new P2payError(ErrorCode.BAD_REQUEST, 'request body must be a JSON object')
  }
}

/** What a page may be: anything else in the static dir is never served. */
const PAGE_TYPES: Partial<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}
const PAGE_PREFIX = '/dashboard/'
/** same-origin scripts, styles and fetches only: no inline script, no CDN, no framing */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

interface Page {
  body: Buffer
  type: string
}

/**
 * The dashboard's files, read once at start: a request can only name one of
 * these (a flat list of plain names), so no path it sends reaches the disk.
 */
function loadPages(dir: string | undefined): Map<string, Page> {
  const pages = new Map<string, Page>()
  if (dir == null || !existsSync(dir)) return pages
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const type = PAGE_TYPES[extname(e.name)]
    if (e.isFile() && type != null && /^[\w.-]+$/.test(e.name)) {
      pages.set(e.name, { body: readFileSync(join(dir, e.name)), type })
    }
  }
  return pages
}

/** The request's path, or undefined for a target that is no URL (before the token check: it must not throw). */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1').pathname
  } catch {
    return undefined
  }
}

/** Answers GET/HEAD of `/` and `/dashboard/...` from the pages; false when the request is not for a page. */
function servePage(req: IncomingMessage, res: ServerResponse, pages: Map<string, Page>, path?: string): boolean {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || pages.size === 0 || path == null) return false
  if (path === '/' || path === '/dashboard') {
    res.writeHead(302, { location: PAGE_PREFIX, 'content-length': 0 })
    res.end()
    return true
  }
  if (!path.startsWith(PAGE_PREFIX)) return false
  const page = pages.get(path === PAGE_PREFIX ? 'index.html' : path.slice(PAGE_PREFIX.length))
  if (page == null) {
    send(res, 404, 'no such page\n', 'text/plain; charset=utf-8')
    return true
  }
  res.writeHead(200, {
    'content-type': page.type,
    'content-length': page.body.length,
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store'
  })
  res.end(req.method === 'HEAD' ? undefined : page.body)
  return true
}

export interface ControlApi {
  server: Server
  port: number
  close: () => Promise<void>
}

export async function startControlApi(opts: {
  /** the address to listen on (127.0.0.1 unless the operator asked for another) */
  host?: string
  port: number
  token: string
  routes: Routes
  metrics: Metrics
  log: Logger
  /** the daemon's lifecycle: each request runs as its work, and once it stops new requests get 503 ABORTED */
  life?: Lifecycle
  /** the dashboard's files, served without the token at /dashboard/ */
  staticDir?: string
}): Promise<ControlApi> {
  const expected = Buffer.from(`Bearer ${opts.token}`)
  const pages = loadPages(opts.staticDir)
  const server = createServer((req, res) => {
    void (async () => {
      if (servePage(req, res, pages, pathOf(req))) return
      const got = Buffer.from(req.headers.authorization ?? '')
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        send(res, 401, {
          error: {
            code: ErrorCode.UNAUTHORIZED,
            message: 'missing or wrong bearer token (see api.token in the data dir)'
          }
        })
        return
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      if (req.method === 'GET' && url.pathname === '/metrics') {
        send(res, 200, opts.metrics.prometheus(), 'text/plain; version=0.0.4')
        return
      }
      const route = opts.routes[`${req.method ?? 'GET'} ${url.pathname}`]
      if (route == null) {
        send(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: `no route ${req.method} ${url.pathname}` } })
        return
      }
      try {
        const body = req.method === 'POST' ? await readBody(req) : {}
        const run = async (): Promise<unknown> => await route(body, url.searchParams)
        const out = opts.life != null ? await opts.life.run(`api ${url.pathname}`, run) : await run()
        send(res, 200, out ?? {})
      } catch (err) {
        if (err instanceof P2payError) {
          send(res, STATUS[err.code] ?? 400, { error: err.toJSON() })
        } else {
          opts.log.error('control api failure', { path: url.pathname, err: asError(err) })
          send(res, 500, { error: { code: ErrorCode.INTERNAL, message: asError(err).message } })
        }
      }
    })()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr != null ? addr.port : opts.port
  return {
    server,
    port,
    close: async () =>
      await new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
