// The `p2pay` command: starts daemons and drives running ones through their
// control API. `p2pay <daemon> <verb>`, `p2pay <scheme> <verb>`, and the verbs
// every daemon answers (`status`, `identity`, `connect`) at the top.
import { P2payError, parseArgv, specHelp } from '@p2pay/core'
import { parseOptions, type Command } from './command.ts'
import { COMMON, DAEMONS, SCHEMES } from './cmds/index.ts'
import type { Group } from './cmds/group.ts'

const GROUPS = [...DAEMONS, ...SCHEMES]

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
    'Every daemon:',
    ...listing(COMMON.map(c => [c.name, c.summary])),
    '',
    'Client commands find their daemon through --data-dir (api.json + api.token there).'
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
  const opts = Object.entries(c.options ?? {}).map(([k, o]) => {
    const flag = o.type === 'boolean' ? `--${k}` : `--${k} <${o.type === 'integer' ? 'n' : k}>`
    return o.required === true ? flag : `[${flag}]`
  })
  const dir = c.daemon != null ? [`[--data-dir <${c.daemon} dir>]`] : []
  return ['p2pay', full, ...(c.args != null ? [c.args] : []), ...opts, ...dir].join(' ')
}

function commandHelp(full: string, c: Command): string {
  const options =
    c.spec != null
      ? ['Options (flag > env > --config file > default):', specHelp(c.spec)]
      : [
          'Options:',
          ...listing([
            ...Object.entries(c.options ?? {}).map(([k, o]): [string, string] => [`--${k}`, o.help]),
            ...(c.daemon != null
              ? [
                  ['--data-dir', `data dir of the ${c.daemon} to talk to (default ./.data/${c.daemon})`] as [
                    string,
                    string
                  ]
                ]
              : [])
          ])
        ]
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
    return cmd != null ? { full: `${group.name} ${cmd.name}`, cmd, used: 2 } : { full: group.name, group, used: 1 }
  }
  const cmd = COMMON.find(c => c.name === words[0])
  return cmd != null ? { full: cmd.name, cmd, used: 1 } : { full: '', used: 0 }
}

async function main(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgv(argv)
  const { full, cmd, group, used } = find(positional)
  if (cmd == null) {
    process.stdout.write((group != null ? groupHelp(group) : usage()) + '\n')
    const asked = flags.help === true || positional.length === used
    return asked && (group != null || positional.length === 0) ? 0 : 2
  }
  if (flags.help === true) {
    process.stdout.write(commandHelp(full, cmd) + '\n')
    return 0
  }
  const out = await cmd.run(parseOptions(cmd, flags), positional.slice(used))
  if (out !== undefined) process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  return out === undefined ? -1 : 0
}

main(process.argv.slice(2)).then(
  code => {
    if (code >= 0) process.exit(code)
  },
  err => {
    if (err instanceof P2payError) {
      process.stderr.write(`error ${err.code}: ${err.message}\n`)
      process.exit(err.code === 'BAD_REQUEST' ? 2 : 1)
    }
    process.stderr.write(`error: ${err?.stack ?? err}\n`)
    process.exit(1)
  }
)
