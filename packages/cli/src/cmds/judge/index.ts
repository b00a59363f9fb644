// `p2pay judge ...`: the fixed file market's judge.
import { judgeOptions, startJudge, type JudgeConfig } from '@p2pay/judge'
import { read } from '../../command.ts'
import type { Group } from '../group.ts'
import { startCommand } from '../start.ts'
import { status } from '../../render/status.ts'

export const judge: Group = {
  name: 'judge',
  summary: "the fixed file market's judge (complaints, bans)",
  commands: [
    startCommand<JudgeConfig>(
      "run the file market's judge (rules on complaints, signs bans, has the broker void a banned provider's cheque)",
      judgeOptions,
      startJudge,
      ['p2pay judge start --data-dir ./.data/judge --broker /ip4/192.0.2.1/tcp/4001/p2p/12D3KooW... --ban-days 30']
    ),
    read(
      'status',
      "the judge's identity, verdicts and voids pending",
      '/v1/status',
      'judge',
      'p2pay judge status',
      status
    ),
    read(
      'verdicts',
      "verdicts given, with each providerBan's void at the broker",
      '/v1/fairex/verdicts',
      'judge',
      'p2pay judge verdicts --data-dir ./.data/judge'
    ),
    read('bans', 'ban records in force', '/v1/fairex/bans', 'judge', 'p2pay judge bans --data-dir ./.data/judge')
  ]
}
