// Talks to a running daemon through its control API, using the api.json and
// api.token files the daemon writes into its data dir.
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { API_FILE, TOKEN_FILE, ErrorCode, P2payError } from '@p2pay/core'

// not an ESM import of node:http: its facade reads every export, and the lazy WebSocket getters load undici
// (about 13 MiB resident) into every process that loads the CLI, daemons included
const { request } = process.getBuiltinModule('node:http')

export interface ApiTarget {
  url: string
  token: string
}

export function targetFromDataDir(dataDir: string): ApiTarget {
  const info = join(dataDir, API_FILE)
  if (!existsSync(info))
    throw new P2payError(
      ErrorCode.UNREACHABLE,
      `no running daemon found: ${info} does not exist (is the daemon started with --data-dir ${dataDir}?)`
    )
  const { apiPort, apiHost } = JSON.parse(readFileSync(info, 'utf8'))
  const token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim()
  // a daemon listening on every interface is still reached on loopback
  const host = typeof apiHost !== 'string' || apiHost === '0.0.0.0' || apiHost === '::' ? '127.0.0.1' : apiHost
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${apiPort}`, token }
}

/**
 * One control API call. node:http rather than fetch: fetch gives up on a reply
 * whose headers take over 5 minutes, and a file purchase may take longer.
 */
export async function api<T = any>(
  t: ApiTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number } = {}
): Promise<T> {
  const payload = method === 'POST' ? JSON.stringify(body ?? {}) : undefined
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${t.url}${path}`,
      {
        method,
        headers: {
          authorization: `Bearer ${t.token}`,
          'content-type': 'application/json',
          ...(payload !== undefined ? { 'content-length': Buffer.byteLength(payload) } : {})
        },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000)
      },
      r => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('error', reject)
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      }
    )
    req.on('error', reject)
    req.end(payload)
  }).catch((err: Error) => {
    throw new P2payError(ErrorCode.UNREACHABLE, `control API at ${t.url} not answering: ${err.message}`)
  })
  let json: any
  try {
    json = JSON.parse(res.text)
  } catch {
    json = { text: res.text }
  }
  if (res.status < 200 || res.status >= 300)
    throw new P2payError(
      json?.error?.code ?? ErrorCode.INTERNAL,
      json?.error?.message ?? `HTTP ${res.status}`,
      json?.error?.details
    )
  return json as T
}
