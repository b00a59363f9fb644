// Runs one check of a Promela model: `spin -a` in a fresh temp dir, `cc` on
// pan.c, `./pan` under a time bound, and pan's report. The temp dir is removed
// unless the caller keeps it to replay the trail (`spin -t`).
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { mismatch, parsePanOutput, type Check, type PanReport } from './pan-output.ts'

/** A pan run longer than this fails, unless the model's `// bound:` says otherwise. */
export const DEFAULT_BOUND_S = 120
/**
 * pan's memory limit, MB: the machine is shared, and a model past it is reported, not swapped. A check may
 * raise it with `| -DMEMLIM=<MB>` (the later -D wins).
 */
const PAN_MEMLIM_MB = 1024
/** what spin's translation and the C compiler may take, ms */
const BUILD_TIMEOUT_MS = 120_000

export const APT_HINT = 'install them with `apt-get install -y spin gcc` (Debian packages spin and gcc)'

export interface Run {
  out: string
  code: number | null
  timedOut: boolean
}

/** Runs a command in `cwd`, killing it (by its pid) after `timeoutMs`. */
export async function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let timedOut = false
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const t = setTimeout(() => {
      timedOut = true
      p.kill('SIGKILL')
    }, timeoutMs)
    p.once('error', err => {
      clearTimeout(t)
      reject(err)
    })
    p.once('close', code => {
      clearTimeout(t)
      resolve({ out, code, timedOut })
    })
  })
}

/** Throws a message naming the apt packages when spin or cc is missing. */
export async function checkTools(): Promise<void> {
  for (const [cmd, arg] of [
    ['spin', '-V'],
    ['cc', '--version']
  ]) {
    try {
      await run(cmd, [arg], tmpdir(), 10_000)
    } catch {
      throw new Error(`\`${cmd}\` is not installed: the models need spin and a C compiler; ${APT_HINT}`)
    }
  }
}

export interface CheckResult {
  model: string
  check: Check
  report?: PanReport
  /** null when the check came out as expected */
  problem: string | null
  /** this check's search, plus the translation and compilation when this check built pan */
  wallMs: number
  /** the temp dir, when kept (holds the model, pan and any trail) */
  dir?: string
}

/** `spin -a` and `cc` in `dir`: null when pan is built, else why not. */
async function build(modelPath: string, ccFlags: string[], dir: string): Promise<string | null> {
  const file = basename(modelPath)
  copyFileSync(modelPath, join(dir, file))
  const spin = await run('spin', ['-a', file], dir, BUILD_TIMEOUT_MS)
  if (spin.code !== 0) return `spin -a failed (${spin.code}): ${spin.out.trim().slice(-400)}`
  const cc = await run(
    'cc',
    ['-O2', `-DMEMLIM=${PAN_MEMLIM_MB}`, '-o', 'pan', 'pan.c', ...ccFlags],
    dir,
    BUILD_TIMEOUT_MS
  )
  if (cc.code !== 0) return `cc failed (${cc.code}): ${cc.out.trim().slice(-400)}`
  return null
}

/** pan's search for one check in a dir where pan is built: its report, or why there is none. */
async function search(
  dir: string,
  check: Check,
  boundS: number
): Promise<{ problem: string | null; report?: PanReport }> {
  const pan = await run('./pan', check.panArgs, dir, boundS * 1000)
  if (pan.timedOut) return { problem: `pan ran past its bound of ${boundS} s` }
  const report = parsePanOutput(pan.out)
  if (report instanceof Error) return { problem: `${report.message} (exit ${pan.code}): ${pan.out.trim().slice(-400)}` }
  return { problem: mismatch(check.expected, report), report }
}

/**
 * Every check of `modelPath`, in order; pan is built once for each set of cc
 * flags, in a temp dir removed once its checks ran (kept with `keep`).
 */
export async function runChecks(
  modelPath: string,
  checks: Check[],
  opts: { boundS?: number; keep?: boolean } = {}
): Promise<CheckResult[]> {
  const model = basename(modelPath, '.pml')
  const byFlags = new Map<string, Check[]>()
  for (const c of checks) byFlags.set(c.ccFlags.join(' '), [...(byFlags.get(c.ccFlags.join(' ')) ?? []), c])
  const results = new Map<Check, CheckResult>()
  for (const group of byFlags.values()) {
    const dir = mkdtempSync(join(tmpdir(), `p2pay-model-${model}-`))
    try {
      let started = Date.now()
      let built: string | null
      try {
        built = await build(modelPath, group[0].ccFlags, dir)
      } catch (err) {
        built = `could not run: ${(err as Error).message}`
      }
      for (const check of group) {
        let r: { problem: string | null; report?: PanReport }
        try {
          r = built != null ? { problem: built } : await search(dir, check, opts.boundS ?? DEFAULT_BOUND_S)
        } catch (err) {
          r = { problem: `could not run: ${(err as Error).message}` }
        }
        results.set(check, { model, check, ...r, wallMs: Date.now() - started, ...(opts.keep === true ? { dir } : {}) })
        started = Date.now()
      }
    } finally {
      if (opts.keep !== true) rmSync(dir, { recursive: true, force: true })
    }
  }
  return checks.map(c => results.get(c)!)
}

/** One check of `modelPath`, from translation to verdict. */
export async function runCheck(
  modelPath: string,
  check: Check,
  opts: { boundS?: number; keep?: boolean } = {}
): Promise<CheckResult> {
  const [r] = await runChecks(modelPath, [check], opts)
  return r
}
