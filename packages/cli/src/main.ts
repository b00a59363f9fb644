// The `p2pay` command: starts daemons and drives running ones through their
// control API. `p2pay <daemon> <verb>`, `p2pay <scheme> <verb>`, and the verbs
// every daemon answers (`status`, `identity`, `connect`) at the top.
import { P2payError, parseArgv, specHelp } from '@p2pay/core'
import { optionsOf, parseOptions, type Command, type CommandOption } from './command.ts'
import { asJson, exitFlushed, print } from './output.ts'
import { errorLine } from './hints.ts'
import { DEFAULT_UNIT } from './render/format.ts'
import { render } from './render/generic.ts'
import { COMMON, DAEMONS, SCHEMES } from './cmds/index.ts'
import { completion } from './cmds/completion.ts'
import type { Group } from './cmds/group.ts'

const GROUPS = [...DAEMONS, ...SCHEMES]
/** The top-level verbs: those every daemon answers, and the shell completion. */
const TOP: Command[] = [...COMMON, completion]

function listing(rows: Array<[string, string]>): string[] {
  const w = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)
}

function usage(): string {
  return [
    'Usage: p2pay <command> [options]   (p2pay <command> --help for details)',
    '',
    'Daemons (p2pay <daemon> start runs one; its other verbs drive it):',
    ...listing(DAEMONS.map(g => [g.name, `${g.summary}: ${g.commands.map(c => c.name).join(', ')}`])),
    '',
    'Schemes (run against a node; p2pay <scheme> --help lists the verbs):',
    ...listing(SCHEMES.map(g => [g.name, g.summary])),
    '',
    'At the top level:',
    ...listing(TOP.map(c => [c.name, c.summary])),
    '',
    'Client commands find their daemon through --data-dir (api.json + api.token there).',
    'They print tables and key/value lines; --json prints the JSON answer instead (for scripts).'
  ].join('\n')
}

function groupHelp(g: Group): string {
  return [
    `p2pay ${g.name}: ${g.summary}`,
    '',
    `Usage: p2pay ${g.name} <command> [options]   (p2pay ${g.name} <command> --help for details)`,
    '',
    'Commands:',
    ...listing(g.commands.map(c => [c.name, c.summary]))
  ].join('\n')
}

function usageLine(full: string, c: Command): string {
  if (c.spec != null) return `p2pay ${full} [options]`
  const opts = Object.entries(optionsOf(c)).map(([k, o]) => {
    const value = k === 'data-dir' ? `${c.daemon} dir` : o.type === 'integer' ? 'n' : k
    const flag = o.type === 'boolean' ? `--${k}` : `--${k} <${value}>`
    return o.required === true ? flag : `[${flag}]`
  })
  return ['p2pay', full, ...(c.args != null ? [c.args] : []), ...opts].join(' ')
}

function commandHelp(full: string, c: Command): string {
  const help = (k: string, o: CommandOption): string =>
    k === 'data-dir' ? `data dir of the ${c.daemon} to talk to (default ./.data/${c.daemon})` : o.help
  const options =
    c.spec != null
      ? ['Options (flag > env > --config file > default):', specHelp(c.spec)]
      : ['Options:', ...listing(Object.entries(optionsOf(c)).map(([k, o]) => [`--${k}`, help(k, o)]))]
  return [
    `p2pay ${full}: ${c.summary}`,
    '',
    `Usage: ${usageLine(full, c)}`,
    '',
    ...options,
    '',
    'Examples:',
    ...c.examples.map(e => `  ${e}`)
  ].join('\n')
}

/** The command named by the first words, or the group (or nothing) they name. */
function find(words: string[]): { full: string; cmd?: Command; group?: Group; used: number } {
  const group = GROUPS.find(g => g.name === words[0])
  if (group != null) {
    const cmd = group.commands.find(c => c.name === words[1])
    return cmd != null
      ? { full: `${group.name} ${cmd.name}`, cmd, group, used: 2 }
      : { full: group.name, group, used: 1 }
  }
  const cmd = TOP.find(c => c.name === words[0])
  return cmd != null ? { full: cmd.name, cmd, used: 1 } : { full: '', used: 0 }
}

/** The command being run, for the hint of an error line. */
let running: { full: string; cmd: Command } | undefined

async function main(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgv(argv)
  const { full, cmd, group, used } = find(positional)
  if (cmd != null) running = { full, cmd }
  if (cmd == null) {
    await print(process.stdout, (group != null ? groupHelp(group) : usage()) + '\n')
    const asked = flags.help === true || positional.length === used
    return asked && (group != null || positional.length === 0) ? 0 : 2
  }
  if (flags.help === true) {
    await print(process.stdout, commandHelp(full, cmd) + '\n')
    return 0
  }
  const opts = parseOptions(cmd, flags)
  const out = await cmd.run(opts, positional.slice(used))
  if (out === undefined) return -1
  const whole = opts.bool('full')
  if (cmd.text === true) await print(process.stdout, String(out))
  else if (opts.bool('json')) await print(process.stdout, asJson(out, whole))
  else {
    const o = { now: Date.now(), unit: group?.unit ?? DEFAULT_UNIT, full: whole }
    await print(process.stdout, (cmd.render ?? render)(out, o) + '\n')
  }
  return 0
}

// every exit waits for stdout and stderr: a pipe would otherwise lose all past its first 64 KiB
main(process.argv.slice(2)).then(
  async code => {
    if (code >= 0) await exitFlushed(code)
  },
  async err => {
    await print(process.stderr, errorLine(err, { command: running?.full, daemon: running?.cmd.daemon }) + '\n')
    // a daemon that failed to start, or P2PAY_DEBUG, shows where it failed too
    const daemon = running?.cmd.spec != null
    if (!(err instanceof P2payError) && (daemon || process.env.P2PAY_DEBUG != null))
      await print(process.stderr, `${err?.stack ?? err}\n`)
    await exitFlushed(err instanceof P2payError && err.code === 'BAD_REQUEST' ? 2 : 1)
  }
)
