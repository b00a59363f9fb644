import { renderUnicodeCompact } from 'uqr'
import type { Command } from '../../command.ts'
import { durationMs } from './duration.ts'

export const request: Command = {
  name: 'request',
  summary: 'make a payment request signed by this node: one line of text (and a QR code of it) a payer pays once',
  daemon: 'node',
  options: {
    scheme: { type: 'string', required: true, help: 'the scheme to be paid with: ppay, aggsign, whopay or karma' },
    amount: { type: 'integer', required: true, help: 'whole units' },
    memo: { type: 'string', help: 'what it is for (shown to the payer, at most 200 characters)' },
    'expires-in': { type: 'string', help: 'how long it can be paid: 90s, 15m, 2h, 1d (default 15m)' },
    'no-qr': { type: 'boolean', help: 'do not draw the QR code (on stderr)' }
  },
  examples: [
    'p2pay request --scheme ppay --amount 10 --memo "coffee" --data-dir ./.data/bob',
    'p2pay request --scheme karma --amount 5 --expires-in 1h'
  ],
  run: async o => {
    const made = await o.api<{ text: string; request: Record<string, unknown> }>('POST', '/v1/payments/request', {
      scheme: o.str('scheme'),
      amount: o.int('amount'),
      memo: o.str('memo'),
      expiresInMs: durationMs(o.str('expires-in'), 'expires-in')
    })
    // on stderr, so stdout stays the request alone for scripts
    if (!o.bool('no-qr')) process.stderr.write(renderUnicodeCompact(made.text, { border: 1 }) + '\n')
    return { request: made.text, ...made.request }
  }
}
