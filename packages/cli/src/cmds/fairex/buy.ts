import { resolve } from 'node:path'
import { peerArg, type Command } from '../../command.ts'
import { buyFile } from '../../progress.ts'
import { render } from '../../render/generic.ts'
import { FORM, formOf } from './form.ts'

export const buy: Command = {
  name: 'buy',
  summary: 'buy a file from a provider; a progress bar on stderr while it downloads',
  daemon: 'node',
  options: {
    provider: { type: 'string', required: true, help: 'who sells it (a multiaddr also tells the node where to dial)' },
    file: { type: 'string', required: true, help: 'its file id (see p2pay fairex catalog)' },
    out: { type: 'string', required: true, help: 'where to write it (made absolute: the daemon writes it)' },
    form: FORM,
    progress: { type: 'boolean', help: 'draw the progress bar even when stderr is not a terminal' }
  },
  examples: [
    'p2pay fairex buy --provider 12D3KooW... --file 9f86d0... --out ./film.bin',
    'p2pay fairex buy --provider /ip4/127.0.0.1/tcp/4003/p2p/12D3KooW... --file 9f86d0... --out ./film.bin --form fixed'
  ],
  run: async o => {
    const { id, addrs } = peerArg(o.str('provider')!, 'provider')
    const bar = o.bool('progress') || process.stderr.isTTY === true
    const out = resolve(o.str('out')!)
    return await buyFile(o.target(), { provider: id, addrs, fileId: o.str('file')!, out, ...formOf(o) }, bar)
  },
  // the signed evidence and the key are for a complaint or an audit: --json has them
  render: ({ evidence, key, ...rest }, o) =>
    render({ ...rest, ...(evidence != null || key != null ? { evidence: 'kept (--json shows it)' } : {}) }, o)
}
