// `p2pay <daemon> start`: runs a daemon until SIGINT/SIGTERM stops it in order.
import { exitOnSignals, resolveConfig, type RunningDaemon, type Spec } from '@p2pay/core'
import type { Command } from '../command.ts'

export function startCommand<C>(
  summary: string,
  spec: Spec,
  start: (cfg: C) => Promise<RunningDaemon<any>>,
  examples: string[]
): Command {
  return {
    name: 'start',
    summary,
    spec,
    examples,
    // a daemon runs until a signal stops it: the command returns nothing, so main does not exit
    run: async o => {
      exitOnSignals(await start(resolveConfig<C>(spec, o.flags)))
      return undefined
    }
  }
}
