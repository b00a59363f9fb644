// `p2pay ttp ...`: the file market's trusted third party.
import { startTtp, ttpOptions, type TtpConfig } from '@p2pay/ttp'
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { startCommand } from '../start.ts'
import { status } from '../../render/status.ts'

export const ttp: Group = {
  name: 'ttp',
  summary: "the file market's trusted third party (disputes)",
  commands: [
    startCommand<TtpConfig>(
      "run the file market's TTP (gives a paying downloader K, queues the countersigned cheque for its provider)",
      ttpOptions,
      startTtp,
      ['p2pay ttp start --data-dir ./.data/ttp --listen /ip4/0.0.0.0/tcp/4002']
    ),
    read('status', "the TTP's identity, disputes and cheques waiting", '/v1/status', 'ttp', 'p2pay ttp status', status),
    read(
      'disputes',
      'disputes the TTP resolved, and whether each provider fetched its cheque',
      '/v1/fairex/disputes',
      'ttp',
      'p2pay ttp disputes --data-dir ./.data/ttp'
    )
  ]
}
