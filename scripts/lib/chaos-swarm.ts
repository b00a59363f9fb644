// The swarm of the chaos run, as the stop-under-load test has it: a broker, a
// TTP and a judge for the file market, six nodes with PPay, the file market
// and Karma, money for the payer and the buyer, a file for sale. Every daemon
// is put in `started` before it starts, so that a start that fails half-way
// (a busy machine) still leaves nothing running once the caller stops them.
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CLI, Daemon, waitFor } from './swarm.ts'

export const K = 3
export const INITIAL = 1000
const PRICE = 5
const FEE = 1
/** how long one start may take: six node processes starting together on a busy machine are slow */
export const START_MS = 60_000

export interface ChaosSwarm {
  broker: Daemon
  ttp: Daemon
  judge: Daemon
  /** payer A, payee B, provider P, buyer D, then two more Karma nodes */
  nodes: Daemon[]
  all: Daemon[]
  fileId: string
  fileSha: string
  filesDir: string
}

export async function startChaosSwarm(dir: string, started: Daemon[]): Promise<ChaosSwarm> {
  const up = async (d: Daemon): Promise<Daemon> => {
    started.push(d)
    return await d.start(START_MS)
  }
  // the broker must be told who the judge is: the judge's identity is made first
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CLI, 'identity', '--data-dir', join(dir, 'judge'), '--json'],
    {
      timeout: 60_000
    }
  )
  const judgeId = JSON.parse(stdout).peerId as string
  const broker = await up(
    new Daemon('broker', join(dir, 'broker'), ['--judge', judgeId, '--proceeds-hold-s', '0', '--deposit-fee', `${FEE}`])
  )
  const [ttp, judge] = await Promise.all([
    up(new Daemon('ttp', join(dir, 'ttp'), [])),
    up(new Daemon('judge', join(dir, 'judge'), ['--broker', broker.addr, '--retry-interval-ms', '500']))
  ])
  const nodeArgs = [
    ...['--broker', broker.addr, '--owner-timeout-ms', '2000', '--retry-interval-ms', '1000'],
    ...['--ttp', ttp.addr, '--judge', judge.addr],
    ...['--karma-k', `${K}`, '--karma-pow-bits', '4', '--karma-sync-ms', '1000', '--karma-initial', `${INITIAL}`]
  ]
  const nodes: Daemon[] = []
  for (let i = 0; i < 6; i += 2) {
    nodes.push(
      ...(await Promise.all([i, i + 1].map(async j => await up(new Daemon('node', join(dir, `node${j}`), nodeArgs)))))
    )
  }
  const [A, , P, D] = nodes
  await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 10_000 })
  await broker.api('POST', '/v1/topup', { account: D.peerId, amount: 100_000 })
  for (let i = 0; i < 3; i++) await A.api('POST', '/v1/ppay/buy', { count: 1000, value: 1 })
  const filesDir = join(dir, 'files')
  mkdirSync(filesDir)
  const path = join(filesDir, 'shared.bin')
  const data = randomBytes(96 * 1024)
  writeFileSync(path, data)
  const fileSha = createHash('sha256').update(data).digest('hex')
  const fileId = (await P.api('POST', '/v1/fairex/share', { path, price: PRICE, name: 'shared.bin' })).fileId as string
  for (const n of nodes) {
    await waitFor(`${n.peerId} to join Karma`, async () => await n.api('POST', '/v1/karma/join'), 60_000)
  }
  return { broker, ttp, judge, nodes, all: [broker, ttp, judge, ...nodes], fileId, fileSha, filesDir }
}
