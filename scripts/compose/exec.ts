// The compose testnet's daemons driven through their own CLI: `docker-compose exec` runs
// `p2pay ... --data-dir /data` in a service's container, where the control API and its token are.
// The project and file come from COMPOSE_PROJECT_NAME and COMPOSE_FILE (scripts/compose-testnet).
import { execFile } from 'node:child_process'

/** One daemon of the testnet: a service and, for the scaled `node` service, its replica index. */
export interface Service {
  service: 'broker' | 'ttp' | 'judge' | 'node'
  index: number
  name: string
}

export const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

/** A command's failure with its stderr (the CLI prints `error CODE: message` there). */
export class ExecError extends Error {}

/** Runs a command in the service's container and returns its stdout; throws ExecError if it exits non-zero. */
export async function sh(s: Service, argv: string[], timeoutMs = 120_000): Promise<string> {
  const args = ['exec', '-T', '--index', String(s.index), s.service, ...argv]
  return await new Promise((resolve, reject) => {
    execFile('docker-compose', args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err != null) reject(new ExecError(`${s.name}: ${argv.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

/** `p2pay <args> --data-dir /data --json` in the service's container, its JSON answer parsed. */
export async function p2pay<T = any>(s: Service, args: string[], timeoutMs?: number): Promise<T> {
  const out = await sh(s, ['p2pay', ...args, '--data-dir', '/data', '--json'], timeoutMs)
  return JSON.parse(out) as T
}

/** Retries `fn` (ExecError only) up to `tries` times, `gapMs` apart; the last error is thrown. */
export async function retry<T>(tries: number, gapMs: number, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof ExecError) || i >= tries) throw err
      process.stdout.write(`  ..  try ${i} of ${tries} failed, again in ${gapMs / 1000} s: ${err.message}\n`)
      await sleep(gapMs)
    }
  }
}

/** Throws with `what` unless `ok`; prints the check when it holds, so a run shows what it verified. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`)
  process.stdout.write(`  ok  ${what}\n`)
}
