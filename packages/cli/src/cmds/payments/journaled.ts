// `--id` and `--deadline` on every command that runs a payment route of the
// node (`ppay pay`, `karma transfer`, `fairex buy`, ...): the command sends an
// id (made when none is given, and printed on stderr before the call, so a
// command cut short can be retried with it) and the node's journal makes a
// retry with that id return the first outcome instead of paying again.
import { randomId } from '@p2pay/core'
import { PAYMENT_ROUTES } from '@p2pay/node'
import type { Command } from '../../command.ts'
import type { Group } from '../group.ts'
import { durationMs } from './duration.ts'

const ID_HELP = 'the payment id: the same id again returns the first outcome, never pays twice (default: a new one)'
const DEADLINE_HELP = 'how long the payment may stay unsettled before it ends: 30s, 2m (default 2m)'

function journaled(group: string, cmd: Command): Command {
  const path = `/v1/${group}/${cmd.name}`
  if (PAYMENT_ROUTES[`POST ${path}`] == null) return cmd
  return {
    ...cmd,
    options: {
      ...cmd.options,
      id: { type: 'string', help: ID_HELP },
      deadline: { type: 'string', help: DEADLINE_HELP }
    },
    examples: [...cmd.examples, `p2pay ${group} ${cmd.name} ... --id <the id printed before>   # a retry`],
    run: async (o, args) => {
      const given = o.str('id')
      const id = given ?? `cli-${randomId(12)}`
      const deadlineMs = durationMs(o.str('deadline'), 'deadline')
      if (given == null) process.stderr.write(`payment id ${id} (retry with --id ${id})\n`)
      const api: typeof o.api = async (method, p, body) =>
        method === 'POST' && p === path
          ? await o.api(method, p, { ...(body as object), id, ...(deadlineMs != null ? { deadlineMs } : {}) })
          : await o.api(method, p, body)
      const out = await cmd.run({ ...o, api }, args)
      // a retry shows the journal entry; a first run answers as the scheme does (its id is on stderr)
      if (given == null && out != null && typeof out === 'object' && 'payment' in out) {
        const { payment: _p, ...rest } = out as Record<string, unknown>
        return rest
      }
      return out
    }
  }
}

/** The group with `--id` and `--deadline` on each command that runs a payment route. */
export function withPaymentIds(g: Group): Group {
  return { ...g, commands: g.commands.map(c => journaled(g.name, c)) }
}
