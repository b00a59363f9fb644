import { resolve } from 'node:path'
import type { Command } from '../../command.ts'
import { FORM, formOf } from './form.ts'

export const share: Command = {
  name: 'share',
  summary: 'offer a file for sale: the node hashes it into pieces and signs its manifest (prints the file id)',
  daemon: 'node',
  options: {
    path: {
      type: 'string',
      required: true,
      help: 'the file (made absolute: the daemon reads it from disk at each sale)'
    },
    price: { type: 'integer', required: true, help: 'what one download costs' },
    name: { type: 'string', help: "the name buyers see (default: the file's own name)" },
    form: FORM
  },
  examples: [
    'p2pay fairex share --path ./film.bin --price 25',
    'p2pay fairex share --path ./song.ogg --price 3 --name "song.ogg"'
  ],
  run: async o =>
    await o.api('POST', '/v1/fairex/share', {
      path: resolve(o.str('path')!),
      price: o.int('price'),
      ...(o.str('name') != null ? { name: o.str('name') } : {}),
      ...formOf(o)
    })
}
