// Building blocks of the page: elements made with textContent only (what a
// daemon returns may come from other peers: names, memos, reasons), tables and
// key/value lists that render whatever fields an answer has.
/* global document, Node */

/** An element; children are nodes or text, null and false are left out. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue
    if (k === 'class') e.className = v
    else if (k === 'data') for (const [d, dv] of Object.entries(v)) e.dataset[d] = String(dv)
    else e.setAttribute(k, String(v))
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue
    e.append(c instanceof Node ? c : String(c))
  }
  return e
}

const PEER_ID = /^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,}$/
const HEX_ID = /^[0-9a-f]{24,}$/

/** A peer id or a long hex id (or a `peer|hex` key of both), cut to its ends; the whole of it in the tooltip. */
export function short(id) {
  const s = String(id)
  const parts = s.split('|')
  if (!parts.every(p => PEER_ID.test(p) || HEX_ID.test(p))) return s
  const cut = parts.map(p => (PEER_ID.test(p) ? `${p.slice(0, 4)}…${p.slice(-6)}` : `${p.slice(0, 8)}…`))
  return el('span', { class: 'mono', title: s }, cut.join('|'))
}

/** "12 s ago", "in 3 h": times people read without a calendar. */
export function ago(ms) {
  const d = Date.now() - ms
  const a = Math.abs(d)
  const [n, u] =
    a < 60e3 ? [a / 1e3, 's'] : a < 3600e3 ? [a / 60e3, 'min'] : a < 86400e3 ? [a / 3600e3, 'h'] : [a / 86400e3, 'd']
  const t = `${Math.floor(n)} ${u}`
  return d >= 0 ? `${t} ago` : `in ${t}`
}

const isTime = (k, v) =>
  typeof v === 'number' &&
  v > 1.4e12 &&
  v < 4.1e12 &&
  /(at|time|expiry|until|since|created|updated|deadline|opened)$/i.test(k)

/** One value as a cell's content. */
export function show(v, key = '') {
  if (v == null) return '—'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (isTime(key, v)) return el('span', { title: new Date(v).toISOString() }, ago(v))
  if (typeof v === 'number') return v.toLocaleString('en-US')
  if (typeof v === 'string') {
    const id = short(v)
    if (id !== v) return id
    return v.length > 80 ? el('span', { title: v }, `${v.slice(0, 77)}…`) : v
  }
  if (Array.isArray(v)) return v.length === 0 ? '—' : v.length <= 3 ? v.map(x => [show(x), ' ']) : `${v.length} items`
  const text = JSON.stringify(v)
  return el('span', { class: 'mono', title: text }, text.length > 60 ? `${text.slice(0, 57)}…` : text)
}

/** Key/value list of an object's fields; nested objects one level deep as `a.b`. */
export function kv(obj, skip = []) {
  const dl = el('dl', { class: 'kv' })
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (skip.includes(k)) continue
    if (v != null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) dl.append(el('dt', {}, `${k}.${k2}`), el('dd', {}, show(v2, k2)))
    } else dl.append(el('dt', {}, k), el('dd', {}, show(v, k)))
  }
  return dl
}

const MAX_ROWS = 50
const MAX_COLS = 9

/**
 * A table of objects: `columns` names the fields in order (default: the first
 * fields the rows have); `rowData` gives a row its data-* attributes.
 */
export function table(rows, columns, rowData) {
  if (!Array.isArray(rows) || rows.length === 0) return el('p', { class: 'empty' }, 'none')
  const cols =
    columns ??
    [...new Set(rows.flatMap(r => (r != null && typeof r === 'object' ? Object.keys(r) : ['value'])))].slice(
      0,
      MAX_COLS
    )
  const head = el(
    'tr',
    {},
    cols.map(c => el('th', {}, c))
  )
  const body = rows.slice(0, MAX_ROWS).map(r => {
    const row = r != null && typeof r === 'object' ? r : { value: r }
    return el(
      'tr',
      { data: rowData?.(row) },
      cols.map(c => el('td', { class: typeof row[c] === 'number' ? 'num' : null, data: { col: c } }, show(row[c], c)))
    )
  })
  const more = rows.length > MAX_ROWS ? el('p', { class: 'more' }, `${rows.length - MAX_ROWS} more not shown`) : null
  return [el('table', {}, el('thead', {}, head), el('tbody', {}, body)), more]
}

/** An answer's lists as tables under their names, and its other fields as a key/value list. */
export function lists(obj) {
  if (obj == null || typeof obj !== 'object') return el('p', {}, show(obj))
  const scalars = Object.fromEntries(Object.entries(obj).filter(([, v]) => !Array.isArray(v)))
  const arrays = Object.entries(obj).filter(([, v]) => Array.isArray(v))
  return [
    Object.keys(scalars).length > 0 ? kv(scalars) : null,
    arrays.map(([k, v]) => [el('h3', {}, `${k} (${v.length})`), table(v)])
  ]
}
