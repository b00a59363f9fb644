// `p2pay completion bash`: prints the shell completion script.
import { ErrorCode, fail } from '@p2pay/core'
import type { Command } from '../command.ts'
import { bashCompletion } from '../completion.ts'
import { COMMON, DAEMONS, SCHEMES } from './index.ts'

export const completion: Command = {
  name: 'completion',
  summary: 'print a bash completion script for p2pay (source <(p2pay completion bash))',
  args: 'bash',
  options: {},
  text: true,
  examples: [
    'p2pay completion bash > /etc/bash_completion.d/p2pay',
    'p2pay completion bash >> ~/.bashrc   # or: source <(p2pay completion bash)'
  ],
  run: async (_o, args) => {
    if (args.length !== 1 || args[0] !== 'bash') fail(ErrorCode.BAD_REQUEST, 'p2pay completion bash (bash only)')
    return bashCompletion([...DAEMONS, ...SCHEMES], [...COMMON, completion])
  }
}
