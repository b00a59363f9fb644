import { ErrorCode, fail } from '@p2pay/core'
import type { Command } from '../../command.ts'
import { durationMs } from './duration.ts'

export const pay: Command = {
  name: 'pay',
  summary: 'pay a payment request (p2pay:...) with the scheme it names, once: paying it again gives the first outcome',
  daemon: 'node',
  args: '<request>',
  options: {
    deadline: { type: 'string', help: 'how long the payment may take before it settles: 30s, 2m (default 2m)' }
  },
  examples: ['p2pay pay p2pay:AQ1wMnBheS9yZXF1ZXN0L3Yx... --data-dir ./.data/alice'],
  run: async (o, args) => {
    const text = args[0]
    if (text == null || args.length > 1) fail(ErrorCode.BAD_REQUEST, 'give one payment request (p2pay:...)')
    return await o.api('POST', '/v1/pay', { request: text, deadlineMs: durationMs(o.str('deadline'), 'deadline') })
  }
}
