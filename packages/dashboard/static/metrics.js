// The survey's Table I, measured: the daemon's Prometheus counters of messages
// sent, signatures generated and signatures verified, per transaction kind.
import { el, kv } from './dom.js'

const TABLE_I = ['messages_sent_total', 'signatures_generated_total', 'signatures_verified_total']
const HEADINGS = ['messages sent', 'signatures generated', 'signatures verified']

/** Counters per kind and the gauges, from the text exposition format. */
export function parseMetrics(text) {
  const kinds = new Map()
  const gauges = {}
  for (const line of String(text).split('\n')) {
    const m = /^p2pay_(\w+?)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (m == null) continue
    const [, name, labels, value] = m
    const kind = /kind="([^"]*)"/.exec(labels ?? '')?.[1]
    if (TABLE_I.includes(name) && kind != null) {
      const row = kinds.get(kind) ?? { kind }
      row[name] = Number(value)
      kinds.set(kind, row)
    } else if (labels == null) gauges[name] = Number(value)
  }
  return { kinds: [...kinds.values()], gauges }
}

export function renderCounters(text) {
  const { kinds, gauges } = parseMetrics(text)
  const active = kinds.filter(r => TABLE_I.some(n => (r[n] ?? 0) > 0))
  const rows = active.map(r =>
    el(
      'tr',
      { data: { kind: r.kind } },
      el('td', { class: 'mono' }, r.kind),
      TABLE_I.map(n => el('td', { class: 'num', data: { col: n } }, String(r[n] ?? 0)))
    )
  )
  const total = n => kinds.reduce((s, r) => s + (r[n] ?? 0), 0)
  return [
    active.length === 0
      ? el('p', { class: 'empty' }, 'no transactions yet')
      : el(
          'table',
          {},
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'kind'),
              HEADINGS.map(h => el('th', {}, h))
            )
          ),
          el('tbody', {}, rows),
          el(
            'tfoot',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'all kinds'),
              TABLE_I.map(n => el('th', { class: 'num', data: { col: n } }, String(total(n))))
            )
          )
        ),
    el('p', { class: 'more' }, `${kinds.length - active.length} kinds at zero not shown`),
    el('h3', {}, 'gauges'),
    kv(gauges)
  ]
}
