// The counterexample of models/fairex-original.pml as data: the runner's
// downloader-fair check is run keeping its temp dir, `spin -t` replays pan's
// trail, and every "MSG <step> <from> <to> <what>" line the model prints
// becomes one message. Also draws it as a message sequence chart (text, SVG).
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseHeader } from '../../models/pan-output.ts'
import { checkTools, run, runCheck } from '../../models/pan-run.ts'
import { readFileSync } from 'node:fs'

const MODELS = resolve(import.meta.dirname, '..', '..', 'models')

export interface TrailMessage {
  /** the paper's message number (1.1 ... 3.3), or the model's own: intr, dep, pay, end */
  step: string
  from: string
  to: string
  what: string
}

/** The MSG lines of `spin -t` output, in order. */
export function parseTrail(text: string): TrailMessage[] {
  const out: TrailMessage[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*MSG (\S+) (\S+) (\S+) (.*)$/.exec(line)
    if (m != null) out.push({ step: m[1], from: m[2], to: m[3], what: m[4].trim() })
  }
  return out
}

/**
 * Runs check `label` of models/<model>.pml (by default the original file market's downloader-fair), replays its
 * trail and returns the messages; the temp dir is removed either way.
 */
export async function counterexample(
  model = 'fairex-original',
  label = 'downloader-fair'
): Promise<{ messages: TrailMessage[]; states: number; seconds: number }> {
  await checkTools()
  const path = join(MODELS, `${model}.pml`)
  const check = parseHeader(readFileSync(path, 'utf8')).checks.find(c => c.label === label)
  if (check == null) throw new Error(`${path} lists no check ${label}`)
  const r = await runCheck(path, check, { keep: true })
  try {
    if (r.problem != null || r.report?.trail == null || r.dir == null)
      throw new Error(`${label}: ${r.problem ?? 'no trail'}`)
    const t = await run('spin', ['-t', '-T', `${model}.pml`], r.dir, 60_000)
    if (t.code !== 0) throw new Error(`spin -t failed (${t.code}): ${t.out.slice(-400)}`)
    const messages = parseTrail(t.out)
    if (messages.length === 0) throw new Error(`spin -t printed no MSG line: ${t.out.slice(0, 400)}`)
    return { messages, states: r.report.statesStored, seconds: r.report.seconds }
  } finally {
    if (r.dir != null) rmSync(r.dir, { recursive: true, force: true })
  }
}

const PARTIES = ['D', 'P', 'T', 'J', 'AC']
/** the parties the messages name, in PARTIES' order */
const lanesOf = (messages: TrailMessage[]): string[] =>
  PARTIES.filter(p => messages.some(m => m.from === p || m.to === p))
const W = 24

/** A text message sequence chart: one lane per party, one row per message; notes in the margin. */
export function mscText(messages: TrailMessage[]): string {
  const LANES = lanesOf(messages)
  const head = LANES.map(l => l.padEnd(W))
    .join('')
    .trimEnd()
  const empty = (): string[] => Array.from({ length: (LANES.length - 1) * W + 1 }, (_, i) => (i % W === 0 ? '|' : ' '))
  const rows = [head]
  for (const m of messages) {
    const a = LANES.indexOf(m.from)
    const b = LANES.indexOf(m.to)
    const row = empty()
    const label = `${m.step} ${m.what}`
    if (a < 0 || b < 0) {
      rows.push(`${row.join('')}   ${m.step === 'intr' ? 'intruder: ' + m.what : `${m.from}: ${m.what}`}`)
      continue
    }
    const [lo, hi] = [Math.min(a, b) * W, Math.max(a, b) * W]
    for (let i = lo + 1; i < hi; i++) row[i] = '-'
    if (b > a) row[hi - 1] = '>'
    else row[lo + 1] = '<'
    const text = label.length > hi - lo - 4 ? label.slice(0, hi - lo - 4) : label
    const at = lo + 2 + Math.floor((hi - lo - 3 - text.length) / 2)
    for (let i = 0; i < text.length; i++) row[at + i] = text[i]
    rows.push(row.join('').trimEnd())
  }
  return rows.join('\n')
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The same chart as an SVG drawing. */
export function mscSvg(messages: TrailMessage[]): string {
  const LANES = lanesOf(messages)
  const lane = 170
  const rowH = 30
  const x = (i: number): number => 60 + i * lane
  const h = 60 + messages.length * rowH + 20
  const w = x(LANES.length - 1) + 220
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="monospace" font-size="12">`,
    '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">' +
      '<path d="M0,0 L8,4 L0,8 z"/></marker></defs>',
    `<rect width="${w}" height="${h}" fill="white"/>`
  ]
  LANES.forEach((l, i) => {
    out.push(`<text x="${x(i)}" y="25" text-anchor="middle" font-weight="bold">${l}</text>`)
    out.push(`<line x1="${x(i)}" y1="35" x2="${x(i)}" y2="${h - 10}" stroke="#888"/>`)
  })
  messages.forEach((m, k) => {
    const y = 60 + k * rowH
    const a = LANES.indexOf(m.from)
    const b = LANES.indexOf(m.to)
    if (a < 0 || b < 0) {
      const note = m.step === 'intr' ? `intruder: ${m.what}` : `${m.from}: ${m.what}`
      out.push(`<text x="${x(LANES.length - 1) + 20}" y="${y + 4}" fill="#a00">${esc(note)}</text>`)
      return
    }
    out.push(
      `<line x1="${x(a)}" y1="${y}" x2="${x(b)}" y2="${y}" stroke="black" marker-end="url(#a)"/>`,
      `<text x="${(x(a) + x(b)) / 2}" y="${y - 5}" text-anchor="middle">${esc(`${m.step} ${m.what}`)}</text>`
    )
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
