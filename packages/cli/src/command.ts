// What a CLI command is: its options (declared once, so parsing, checks and
// --help come from the same place), its positional words, examples, and a
// handler. Commands that drive a running daemon find it through --data-dir.
import { ErrorCode, P2payError, dialAddrs, party, type Spec } from '@p2pay/core'
import { api, targetFromDataDir, type ApiTarget } from './client.ts'
import { FULL_HELP, JSON_HELP } from './output.ts'
import type { RenderOptions } from './render/generic.ts'

export type Flags = Record<string, string | true>

/** A client command's option: `integer` and `string` take a value, `boolean` is a bare flag. */
export interface CommandOption {
  type: 'string' | 'integer' | 'boolean'
  help: string
  required?: boolean
}

export type Daemon = 'node' | 'broker' | 'ttp' | 'judge'

export interface Command {
  /** the words after `p2pay` (e.g. 'ppay pay') are its group's name and this */
  name: string
  summary: string
  /** options of a client command; a daemon's `start` declares `spec` instead */
  options?: Record<string, CommandOption>
  /** the daemon's options (flags > P2PAY_* env > --config file > default), for `<daemon> start` */
  spec?: Spec
  /** positional words, for the usage line */
  args?: string
  /** the daemon a client command talks to by default (its default --data-dir) */
  daemon?: Daemon
  examples: string[]
  /** the answer: printed for a person (render, else the generic renderer) or with --json as JSON;
   * `undefined` means the command keeps running (a daemon) */
  run: (opts: Opts, args: string[]) => Promise<unknown>
  /** this command's own rendering of its answer for a person (no trailing newline) */
  render?: (answer: any, o: RenderOptions) => string
  /** the answer is text printed as it is (a shell script), with or without --json */
  text?: boolean
}

/** Parsed, checked values of a client command's options. */
export interface Opts {
  flags: Flags
  str: (name: string) => string | undefined
  int: (name: string) => number | undefined
  bool: (name: string) => boolean
  /** the daemon this command talks to, through --data-dir (or P2PAY_DATA_DIR) */
  target: () => ApiTarget
  /** a control API call to that daemon */
  api: <T = any>(method: 'GET' | 'POST', path: string, body?: unknown) => Promise<T>
}

export const defaultDataDir = (d: Daemon): string => `./.data/${d}`

/** Every option a command takes: its own, and for a client command --data-dir, --full and --json. */
export function optionsOf(cmd: Command): Record<string, CommandOption> {
  if (cmd.spec != null) return { ...cmd.options }
  if (cmd.text === true) return { ...cmd.options }
  return { ...cmd.options, ...(cmd.daemon != null ? { 'data-dir': DATA_DIR } : {}), full: FULL, json: JSON_OPT }
}

/** Checks `flags` against a client command's options and gives typed access to them. */
export function parseOptions(cmd: Command, flags: Flags): Opts {
  const options = optionsOf(cmd)
  // a daemon's own options are checked by its config (flags > env > file)
  const checked = cmd.spec == null
  for (const k of checked ? Object.keys(flags) : []) {
    if (!Object.hasOwn(options, k) && k !== 'help') fail(`unknown option --${k} (see p2pay ${cmd.name} --help)`)
  }
  for (const [k, o] of Object.entries(options)) {
    const v = flags[k]
    if (o.required === true && (v === undefined || v === '' || v === true)) fail(`--${k} is required`)
    if (o.type !== 'boolean' && v === true) fail(`--${k} needs a value`)
    if (o.type === 'integer' && typeof v === 'string' && !Number.isSafeInteger(Number(v)))
      fail(`--${k} must be an integer`)
  }
  const str = (name: string): string | undefined =>
    typeof flags[name] === 'string' ? (flags[name] as string) : undefined
  const dataDir = (): string => str('data-dir') ?? process.env.P2PAY_DATA_DIR ?? defaultDataDir(cmd.daemon ?? 'node')
  const target = (): ApiTarget => targetFromDataDir(dataDir())
  return {
    flags,
    str,
    int: name => (str(name) != null ? Number(str(name)) : undefined),
    bool: name => flags[name] === true || flags[name] === 'true',
    target,
    api: async (method, path, body) => await api(target(), method, path, body)
  }
}

const DATA_DIR: CommandOption = { type: 'string', help: 'data dir of the daemon to talk to' }
const FULL: CommandOption = { type: 'boolean', help: FULL_HELP }
const JSON_OPT: CommandOption = { type: 'boolean', help: JSON_HELP }

function fail(message: string): never {
  throw new P2payError(ErrorCode.BAD_REQUEST, message)
}

/** A command that GETs one control-API path of a daemon and prints the answer (through `render`, if given). */
export function read(
  name: string,
  summary: string,
  path: string,
  daemon: Daemon,
  example: string,
  render?: Command['render']
): Command {
  return { name, summary, daemon, examples: [example], run: async o => await o.api('GET', path), render }
}

/** `--to`, `--provider`, `--peer`: a peer id, or a multiaddr ending in /p2p/<peer id> (whose address is used too). */
export function peerArg(value: string, flag: string): { id: string; addrs: string[] } {
  const p = party(value, `--${flag}`)
  // the node dials the address part; the peer id travels apart
  return { id: p.id, addrs: dialAddrs(p) }
}
