// Replays the counterexample SPIN finds in models/fairex-original.pml against
// real daemons: a broker (the AC), a TTP, a judge and two nodes, each its own
// process, driven through the p2pay CLI and the control API as the tests do.
// Every message of the trail is mapped to the step that makes the real parties
// send it, and each step checks what the daemons report. Against the original
// form the outcome is the model's: the provider paid, the downloader without
// the file or its money; the same steps against the fixed form end with the
// provider banned and the downloader refunded.
//
//   node scripts/models/replay-fairex.ts [--svg docs/models-counterexample.svg]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Daemon, ROOT, Swarm, audit } from '../lib/swarm.ts'
import { counterexample, mscSvg, mscText, type TrailMessage } from './fairex-trail.ts'

const PRICE = 20
const FEE = 1
const TOPUP = 1000
/** a little over two pieces of 256 KiB: the key piece is one of three */
const SIZE = 600 * 1024 + 7

type Form = 'original' | 'fixed'

interface Market {
  swarm: Swarm
  broker: Daemon
  ttp: Daemon
  judge: Daemon
  /** the provider, started with --allow-cheats */
  P: Daemon
  D: Daemon
  files: string
}

/** One step of the replay: the trail messages it stands for, what it does, and what the daemons showed. */
export interface ReplayRow {
  steps: string[]
  action: string
  observed: string
}

export interface ReplayRun {
  form: Form
  rows: ReplayRow[]
  providerPaid: boolean
  downloaderHasFile: boolean
  downloaderRefunded: boolean
  providerBanned: boolean
}

export interface ReplayResult {
  trail: TrailMessage[]
  states: number
  runs: ReplayRun[]
}

const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`replay: ${what}`)
}

/**
 * The trail's messages in groups, each observed at the daemons after the real step that sends them; a group's
 * messages come in the trail in its order. 1.1-3.2 are one `fairex buy` (D's daemon runs the sale and its
 * dispute), 3.3 and the deposit one `fairex deposit` (P picks up what T kept for it, then deposits).
 */
const STAGES: Array<{ steps: string[] }> = [
  { steps: ['1.1', '1.2'] },
  { steps: ['2.1', '2.2'] },
  { steps: ['2.3'] },
  { steps: ['2.4', '3.1', '3.2', 'end'] },
  { steps: ['3.3'] },
  { steps: ['dep', 'pay'] }
]

/** Every message of the trail is one some step makes the daemons send, and each step's in the trail's order. */
export function checkCoverage(trail: TrailMessage[]): void {
  const seen = trail.filter(m => m.step !== 'intr').map(m => m.step)
  const covered = STAGES.flatMap(s => s.steps)
  check(
    [...seen].sort().join(' ') === [...covered].sort().join(' '),
    `the trail's messages [${seen.join(' ')}] are not the ones the replay maps [${covered.join(' ')}]`
  )
  for (const s of STAGES) {
    const order = seen.filter(x => s.steps.includes(x))
    check(order.join(' ') === s.steps.join(' '), `trail order ${order.join(' ')} is not ${s.steps.join(' ')}`)
  }
}

async function startMarket(): Promise<Market> {
  const swarm = new Swarm('models-replay')
  try {
    const m = await swarm.startMarket(
      ['--deposit-fee', String(FEE), '--proceeds-hold-s', '0'],
      ['--retry-interval-ms', '200']
    )
    const common = ['--broker', m.broker.addr, '--auto-deposit-s', '0', '--retry-interval-ms', '1000', ...m.nodeArgs]
    const [P, D] = [
      new Daemon('node', join(swarm.dir, 'P'), [...common, '--allow-cheats']),
      new Daemon('node', join(swarm.dir, 'D'), common)
    ]
    swarm.nodes.push(P, D)
    await Promise.all([P.start(60_000), D.start(60_000)])
    for (const n of [P, D]) await m.broker.cli('broker', 'topup', '--account', n.peerId, '--amount', String(TOPUP))
    const files = join(swarm.dir, 'files')
    mkdirSync(files)
    return { swarm, broker: m.broker, ttp: m.ttp, judge: m.judge, P, D, files }
  } catch (err) {
    await swarm.stopAll()
    throw err
  }
}

const balance = async (m: Market, id: string): Promise<number> =>
  (await m.broker.api('GET', `/v1/account?id=${id}`)).balance
/** a party's money at the AC: its balance and what its certificates hold in escrow */
const value = async (m: Market, id: string): Promise<number> =>
  (await balance(m, id)) +
  (await m.broker.api('GET', '/v1/fairex/certificates')).certificates
    .filter((c: any) => c.peer === id)
    .reduce((n: number, c: any) => n + c.escrow, 0)
const bans = async (m: Market): Promise<string[]> =>
  (await m.judge.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer)

/** The trail's steps against the market in `form`. */
async function replayForm(m: Market, trail: TrailMessage[], form: Form): Promise<ReplayRun> {
  const rows: ReplayRow[] = []
  const intr = trail.filter(x => x.step === 'intr').map(x => x.what)
  check(
    intr.join(' ') === 'BAD_Z',
    `the counterexample's intruder does [${intr.join(' ')}]; only BAD_Z alone (K' sealed in Z) is mapped`
  )
  const before = { P: await balance(m, m.P.peerId), D: await value(m, m.D.peerId) }

  // intr: the provider seals a garbage K' in Z and sends it as 2.4: its cheat route
  const path = join(m.files, `bait-${form}.bin`)
  writeFileSync(path, randomBytes(SIZE))
  const shared = await m.P.api('POST', '/v1/fairex/cheat/share', { path, price: PRICE, name: 'bait.bin', form })
  rows.push({
    steps: ['intr'],
    action: `P: POST /v1/fairex/cheat/share (form ${form})`,
    observed: `file ${shared.fileId.slice(0, 12)}... shared at ${PRICE}, to be sold with K' in Z`
  })

  // 1.1-3.2: the downloader buys; its daemon runs the sale, takes K' from 2.4, goes to the TTP, and (fixed) the judge
  const out = join(m.files, `out-${form}.bin`)
  const buy = `D: p2pay fairex buy --form ${form}`
  const rec = await m.D.cli(
    'fairex',
    'buy',
    '--provider',
    m.P.addr,
    '--file',
    shared.fileId,
    '--out',
    out,
    '--form',
    form
  )
  const sn = rec.serial.slice(rec.serial.indexOf('|') + 1)
  const acCheque = async (): Promise<any> =>
    (await m.broker.api('GET', '/v1/fairex/cheques')).cheques.find(
      (c: any) => c.provider === m.P.peerId && c.downloader === m.D.peerId && c.chequeSn === sn
    )
  const sales = await m.P.api('GET', '/v1/fairex/sales')
  const sale = sales.sales.find((x: any) => x.downloader === m.D.peerId && x.fileId === shared.fileId)
  const reserved = await acCheque()
  check(sale != null && reserved != null, 'no sale row at P or no reservation at the AC (1.1, 1.2)')
  rows.push({
    steps: ['1.1', '1.2'],
    action: buy,
    observed: `P's sale row for D; the AC's record of the sale (${reserved.status} now)`
  })
  const cheated = (await m.P.api('GET', '/v1/fairex/cheat/sales')).sales.some(
    (x: any) => x.downloader === m.D.peerId && x.fileId === shared.fileId
  )
  check(cheated, "P's cheat route did not seal K' in this sale (2.2)")
  rows.push({ steps: ['2.1', '2.2'], action: buy, observed: "P's cheat route sealed K' in Z for this sale" })
  check(rec.evidence?.dispute != null, 'D kept no evidence: it did not countersign (2.3)')
  check(sales.pendingDeposits >= 1, 'P queued no countersigned cheque (2.3)')
  rows.push({
    steps: ['2.3'],
    action: buy,
    observed: `D kept its evidence (countersigned); P queued ${sales.pendingDeposits} cheque(s) to deposit`
  })
  const dispute = (await m.ttp.api('GET', '/v1/fairex/disputes')).disputes.find(
    (d: any) => d.downloader === m.D.peerId && d.chequeSn === sn
  )
  check(dispute?.form === form && dispute.provider === m.P.peerId, `the TTP resolved no ${form} dispute (3.1, 3.2)`)
  check(!existsSync(out), 'D has the file')
  let verdict: any
  if (form === 'original') {
    check(rec.status === 'failed' && rec.via === 'ttp', `purchase ${rec.status} via ${rec.via}, not failed via ttp`)
  } else {
    check(
      rec.status === 'refunded' && rec.via === 'judge' && rec.ruling === 'providerBan',
      `purchase ${rec.status} via ${rec.via} (${rec.ruling}), not refunded via judge on providerBan`
    )
    verdict = (await m.judge.api('GET', '/v1/fairex/verdicts')).verdicts.find((v: any) => v.chequeSn === sn)
    check(verdict?.ruling === 'providerBan', 'the judge has no providerBan verdict for the sale')
  }
  rows.push({
    steps: ['2.4', '3.1', '3.2', 'end'],
    action: buy,
    observed:
      `neither 2.4's key nor the TTP's opened the key piece (T's ${dispute.form} dispute); no file at --out; ` +
      `purchase ${rec.status} via ${rec.via}` +
      (form === 'fixed' ? `, after COMP to the judge: ${rec.ruling} (${verdict.reason}), the cheque void` : '')
  })

  // 3.3, dep, pay: P picks up the cheque T kept for it (the same as its own: one per serial) and deposits
  const deposit = 'P: p2pay fairex deposit'
  const dep = await m.P.cli('fairex', 'deposit')
  const delivered = (await m.ttp.api('GET', '/v1/fairex/disputes')).disputes.find((d: any) => d.id === dispute.id)
  check(delivered?.delivered != null, 'P did not pick up the cheque the TTP kept for it (3.3)')
  rows.push({ steps: ['3.3'], action: deposit, observed: 'P fetched the countersigned cheque T kept for it' })
  // P's queue holds this sale's cheque only (its node deposits when told to); a refusal names no serial
  const mine = dep.results.filter((r: any) => r.status === 'refused' || r.chequeSn === sn)
  check(mine.length === 1 && dep.results.length === 1, `the deposit answered ${JSON.stringify(dep.results)}`)
  const status = mine.map((r: any) => (r.status === 'refused' ? `refused ${r.code}` : r.status)).join(',')
  check(status === (form === 'original' ? 'paid' : 'refused FRAUD'), `the AC answered the deposit: ${status}`)
  rows.push({ steps: ['dep', 'pay'], action: deposit, observed: `one cheque deposited; the AC: ${status}` })

  const after = { P: await balance(m, m.P.peerId), D: await value(m, m.D.peerId) }
  const banned = (await bans(m)).includes(m.P.peerId)
  const cheque = await acCheque()
  const run: ReplayRun = {
    form,
    rows,
    providerPaid: after.P === before.P + PRICE - FEE && cheque?.status === 'paid',
    downloaderHasFile: existsSync(out),
    downloaderRefunded: after.D === before.D && cheque?.status === 'void',
    providerBanned: banned
  }
  check((await audit(m.broker)).holds, 'the broker audit does not hold')
  if (form === 'original') {
    check(run.providerPaid, `P not paid: balance ${before.P} -> ${after.P}, cheque ${cheque?.status}`)
    check(after.D === before.D - PRICE, `D's money ${before.D} -> ${after.D}, not down by the price`)
    check(!banned, 'P banned in the original form')
  } else {
    check(banned && run.downloaderRefunded, `P banned ${banned}, D ${before.D} -> ${after.D}, cheque ${cheque?.status}`)
    check(after.P === before.P, `P's balance ${before.P} -> ${after.P}`)
  }
  return run
}

/** The counterexample, then its replay against the original form and the fixed form. */
export async function replayFairex(): Promise<ReplayResult> {
  const { messages, states } = await counterexample()
  checkCoverage(messages)
  const m = await startMarket()
  try {
    // the original first: the fixed form's replay gets the provider banned
    const runs = [await replayForm(m, messages, 'original'), await replayForm(m, messages, 'fixed')]
    return { trail: messages, states, runs }
  } finally {
    await m.swarm.stopAll()
  }
}

/** The replay as text: the chart, then a table per form and its outcome. */
export function report(r: ReplayResult): string {
  const lines = [`counterexample of fairex-original downloader-fair (${r.states} states stored):`, mscText(r.trail), '']
  for (const run of r.runs) {
    lines.push(`replay against the ${run.form} form:`)
    for (const row of run.rows)
      lines.push(`  ${row.steps.join(' ').padEnd(36)} ${row.action.padEnd(46)} ${row.observed}`)
    lines.push(
      `  outcome: provider paid ${run.providerPaid}, downloader has the file ${run.downloaderHasFile}, ` +
        `downloader refunded ${run.downloaderRefunded}, provider banned ${run.providerBanned}`,
      ''
    )
  }
  return lines.join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { svg: { type: 'string' } } })
  const r = await replayFairex()
  console.log(report(r))
  if (values.svg != null) writeFileSync(join(ROOT, values.svg), mscSvg(r.trail))
}
