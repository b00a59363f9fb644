// Control API requests on connections this test controls (never the global
// fetch pool), so a connection a daemon leaves broken cannot leak into other tests.
import { Agent, request } from 'node:http'
import { errText } from './raw-peer.ts'

export interface RawRequest {
  method: 'GET' | 'POST'
  path: string
  token?: string
  body?: string
}
export type RawResult = { status: number; code?: string; connection?: string; body: string } | { error: string }

function send(port: number, agent: Agent | false, r: RawRequest, timeoutMs: number): Promise<RawResult> {
  return new Promise(resolve => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' }
    if (r.token != null) headers.authorization = `Bearer ${r.token}`
    if (r.body != null) headers['content-length'] = Buffer.byteLength(r.body)
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers,
        agent,
        signal: AbortSignal.timeout(timeoutMs)
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', err => resolve({ error: errText(err) }))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          let code: string | undefined
          try {
            code = JSON.parse(body)?.error?.code
          } catch {}
          resolve({ status: res.statusCode ?? 0, code, connection: res.headers.connection, body })
        })
      }
    )
    req.on('error', err =>
      resolve({ error: `${errText(err)}${(err as any).code != null ? ` (${(err as any).code})` : ''}` })
    )
    req.end(r.body)
  })
}

/** One request on a fresh connection of its own. */
export async function rawHttp(port: number, r: RawRequest, timeoutMs = 10_000): Promise<RawResult> {
  return await send(port, false, r, timeoutMs)
}

/** Requests one after another on a single keep-alive connection (the way a pooling client reuses it). */
export async function oneConnection(port: number, rs: RawRequest[], timeoutMs = 10_000): Promise<RawResult[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const out: RawResult[] = []
    for (const r of rs) out.push(await send(port, agent, r, timeoutMs))
    return out
  } finally {
    agent.destroy()
  }
}
