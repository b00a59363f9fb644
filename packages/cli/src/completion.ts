// `p2pay completion bash`: a bash completion script made from the command
// table itself, so a new command or option completes without editing it.
import { optionsOf, type Command } from './command.ts'
import type { Group } from './cmds/group.ts'

/** Options whose value is a path: bash completes file names after them. */
const PATH_OPTIONS = ['data-dir', 'path', 'out', 'config']

const flagsOf = (c: Command): string =>
  [...Object.keys(c.spec ?? {}), ...Object.keys(optionsOf(c)), 'help'].map(k => `--${k}`).join(' ')

/** The script: `source <(p2pay completion bash)`, or save it under /etc/bash_completion.d/p2pay. */
export function bashCompletion(groups: Group[], common: Command[]): string {
  const top = [...groups.map(g => g.name), ...common.map(c => c.name), '--help'].join(' ')
  const verbs = groups.map(g => `    ${g.name}) words="${g.commands.map(c => c.name).join(' ')}" ;;`)
  const flags = [
    ...groups.flatMap(g => g.commands.map(c => `    "${g.name} ${c.name}") words="${flagsOf(c)}" ;;`)),
    ...common.map(c => `    "${c.name} "*) words="${flagsOf(c)}" ;;`)
  ]
  const paths = PATH_OPTIONS.map(k => `--${k}`).join('|')
  return `# bash completion for p2pay: source <(p2pay completion bash)
_p2pay() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} words=""
  case "$prev" in
    ${paths}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${top}"
  elif [ "$COMP_CWORD" -eq 2 ] && [[ "$cur" != -* ]]; then
    case "\${COMP_WORDS[1]}" in
${verbs.join('\n')}
    esac
  fi
  if [ -z "$words" ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${flags.join('\n')}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _p2pay p2pay
`
}
