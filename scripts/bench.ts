// `npm run bench -- <scheme> [--json]`: throughput and Table I counts measured
// on real daemons (separate processes, real libp2p connections, synced LevelDB).
// One module per benchmark in bench/, the shared helpers in bench/common.ts.
import { positional } from './bench/common.ts'
import { ppay } from './bench/ppay.ts'
import { fairex } from './bench/fairex.ts'
import { karma } from './bench/karma.ts'
import { karmaScale } from './bench/karma-scale.ts'
import { aggsign } from './bench/aggsign.ts'
import { whopay } from './bench/whopay.ts'
import { memory } from './bench/memory.ts'
import { brokerWork } from './bench/broker-work.ts'

const scheme = positional[0] ?? 'ppay'

const benches: Record<string, () => Promise<void>> = {
  ppay,
  fairex,
  karma,
  'karma-scale': karmaScale,
  aggsign,
  whopay,
  memory,
  'broker-work': brokerWork
}
const run = benches[scheme]
if (run == null) {
  process.stderr.write(`unknown benchmark '${scheme}'; available: ${Object.keys(benches).join(', ')}\n`)
  process.exit(2)
}
await run()
