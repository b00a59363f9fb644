// Daemon configuration: defaults < config file (JSON) < environment (P2PAY_*) < flags.
// An option marked `flagOnly` (a test-only surface) is taken from the command
// line alone: a stray environment variable or a shared config file must not
// turn it on, so one found there is refused rather than ignored.
import { existsSync, readFileSync } from 'node:fs'
import { ErrorCode, P2payError } from '../errors.ts'

export interface OptionSpec {
  readonly type: 'string' | 'number' | 'boolean' | 'list'
  readonly default?: unknown
  readonly help: string
  /** set by its flag on the command line only, never by env or a config file */
  readonly flagOnly?: boolean
}
export type Spec = Readonly<Record<string, OptionSpec>>

type ValueOf<O extends OptionSpec> = O['type'] extends 'number'
  ? number
  : O['type'] extends 'boolean'
    ? boolean
    : O['type'] extends 'list'
      ? string[]
      : string

/** The resolved values of a spec (declared `as const satisfies Spec`): an option without a default may be absent. */
export type ConfigOf<S extends Spec> = {
  -readonly [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined
}

/** Parses `--name value`, `--name=value` and bare boolean flags; returns flags and positionals. */
export function parseArgv(argv: string[]): { flags: Record<string, string | true>; positional: string[] } {
  const flags: Record<string, string | true> = {}
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      if (eq > 0) {
        flags[a.slice(2, eq)] = a.slice(eq + 1)
        continue
      }
      const next = argv[i + 1]
      if (next !== undefined && !next.startsWith('--')) {
        flags[a.slice(2)] = next
        i++
      } else flags[a.slice(2)] = true
    } else positional.push(a)
  }
  return { flags, positional }
}

const envName = (k: string): string => `P2PAY_${k.replace(/-/g, '_').toUpperCase()}`

function coerce(name: string, spec: OptionSpec, v: unknown): unknown {
  if (v === undefined) return undefined
  switch (spec.type) {
    case 'boolean':
      return v === true || v === 'true' || v === '1' || v === 'yes'
    case 'number': {
      if (v === true || v === '') throw new P2payError(ErrorCode.BAD_REQUEST, `--${name} needs a number`)
      const n = typeof v === 'number' ? v : Number(v)
      if (!Number.isFinite(n))
        throw new P2payError(ErrorCode.BAD_REQUEST, `--${name} must be a number, got ${String(v)}`)
      return n
    }
    case 'list':
      if (v === true) throw new P2payError(ErrorCode.BAD_REQUEST, `--${name} needs a value`)
      return Array.isArray(v)
        ? v.map(String)
        : String(v)
            .split(',')
            .map(s => s.trim())
            .filter(Boolean)
    default:
      if (v === true) throw new P2payError(ErrorCode.BAD_REQUEST, `--${name} needs a value`)
      return String(v)
  }
}

export function resolveConfig<T>(
  spec: Spec,
  flags: Record<string, string | true>,
  env: NodeJS.ProcessEnv = process.env
): T {
  for (const k of Object.keys(flags)) {
    if (!Object.hasOwn(spec, k) && k !== 'config' && k !== 'help')
      throw new P2payError(ErrorCode.BAD_REQUEST, `unknown option --${k}`)
  }
  if (flags.config === true) throw new P2payError(ErrorCode.BAD_REQUEST, '--config needs a file name')
  const file = (flags.config as string | undefined) ?? env.P2PAY_CONFIG
  let fromFile: Record<string, unknown> = {}
  if (typeof file === 'string') {
    if (!existsSync(file)) throw new P2payError(ErrorCode.BAD_REQUEST, `config file not found: ${file}`)
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new P2payError(ErrorCode.BAD_REQUEST, `config file ${file} is not JSON: ${(err as Error).message}`)
    }
    if (fromFile == null || typeof fromFile !== 'object' || Array.isArray(fromFile))
      throw new P2payError(ErrorCode.BAD_REQUEST, `config file ${file} must hold a JSON object`)
  }
  const out: Record<string, unknown> = {}
  for (const [k, s] of Object.entries(spec)) {
    if (s.flagOnly === true) {
      const where =
        env[envName(k)] !== undefined ? envName(k) : Object.hasOwn(fromFile, k) ? `config file ${file}` : null
      if (where != null)
        throw new P2payError(ErrorCode.BAD_REQUEST, `--${k} is taken from the command line only, not from ${where}`)
    }
    const raw = flags[k] ?? env[envName(k)] ?? fromFile[k]
    out[k] = raw === undefined ? s.default : coerce(k, s, raw)
  }
  return out as T
}

/** `resolveConfig` typed by the spec itself. */
export function configOf<S extends Spec>(
  spec: S,
  flags: Record<string, string | true>,
  env: NodeJS.ProcessEnv = process.env
): ConfigOf<S> {
  return resolveConfig<ConfigOf<S>>(spec, flags, env)
}

export function specHelp(spec: Spec): string {
  return Object.entries(spec)
    .map(
      ([k, s]) =>
        `  --${k.padEnd(18)} ${s.help}` +
        `${s.default !== undefined ? ` (default: ${JSON.stringify(s.default)})` : ''}` +
        `  [${s.flagOnly === true ? 'command line only' : `env ${envName(k)}`}]`
    )
    .join('\n')
}
