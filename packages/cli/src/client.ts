// Talks to a running daemon through its control API, using the api.json and
// api.token files the daemon writes into its data dir.
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { API_FILE, TOKEN_FILE, ErrorCode, P2payError } from '@p2pay/core'

export interface ApiTarget { url: string, token: string }

export function targetFromDataDir (dataDir: string): ApiTarget {
  const info = join(dataDir, API_FILE)
  if (!existsSync(info)) throw new P2payError(ErrorCode.UNREACHABLE, `no running daemon found: ${info} does not exist (is the daemon started with --data-dir ${dataDir}?)`)
  const { apiPort } = JSON.parse(readFileSync(info, 'utf8'))
  const token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim()
  return { url: `http://127.0.0.1:${apiPort}`, token }
}

export async function api<T = any> (t: ApiTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
      signal: AbortSignal.timeout(120_000)
    })
  } catch (err) {
    throw new P2payError(ErrorCode.UNREACHABLE, `control API at ${t.url} not answering: ${(err as Error).message}`)
  }
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = { text } }
  if (!res.ok) throw new P2payError((json?.error?.code ?? ErrorCode.INTERNAL), json?.error?.message ?? `HTTP ${res.status}`, json?.error?.details)
  return json as T
}
