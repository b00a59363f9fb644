// The human rendering of any control-API answer, for the commands that bring
// no renderer of their own: an object is a key/value block, a list of records
// an aligned table, a nested object its own indented block. A field's name
// says how its number reads: an amount (with the unit), a moment (relative to
// now), a duration, a size. Long lists and strings are cut unless --full.
import { MAX_CELL, MAX_VALUE, amount, bytes, duration, relative, shorten, words } from './format.ts'
import { pairs, table } from './table.ts'

export interface RenderOptions {
  /** the clock the relative times are read against (ms since the epoch) */
  now: number
  /** what amounts are counted in: `units`, `karma` */
  unit: string
  /** nothing cut: every row, column and character */
  full: boolean
}

/** A table shows this many rows (unless --full). */
export const MAX_ROWS = 50
/** A table shows this many columns (unless --full); the rest are in --json. */
export const MAX_COLUMNS = 8
/** A list of plain values shows this many, one a line (unless --full). */
export const MAX_LINES = 10

const AMOUNT = new RegExp(
  '^(amount|value|balance|balances|price|limit|escrow|toppedUp|outstanding|uncashed|undeposited|spendable)$' +
    '|^purse$|(Amount|Value|Balance|Price|Escrow)$'
)
const MOMENT = new RegExp(
  '^(at|ts|expiry|expires|deadline|until|since|created|updated|started|finished)$' +
    '|(At|Time|Expiry|Expires|Deadline|Until|Since)$'
)
const DURATION = /^ms$|Ms$/
const SIZE = /^(size|bytes|rss|heapUsed|heapTotal)$|(Bytes|Size)$/
// ms since the epoch between 2001 and 5138: a number in this range under a moment's name is a time
const isEpochMs = (n: number): boolean => n > 1e12 && n < 1e14

type Rec = Record<string, unknown>
const isRecord = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v)
const isScalar = (v: unknown): boolean => v === null || v === undefined || typeof v !== 'object'

// a field's name (`peerId`, `pending-deposits`); other keys are data (a peer id keying a map) and print as they are
const isName = (key: string): boolean => /^[a-z][a-zA-Z]{0,30}$|^[a-z]+([_-][a-z]+)+$/.test(key)

/** A field's name as words; a duration's `Ms` goes, as its value says its unit. */
export const label = (key: string, v: unknown): string =>
  !isName(key)
    ? key
    : key === 'ms'
      ? 'took'
      : words(typeof v === 'number' && DURATION.test(key) ? key.slice(0, -2) : key)

/** A blob (base64 or hex of over 66 characters, not a path or address) prints cut to this many (unless --full). */
const MAX_BLOB = 32
const isBlob = (s: string): boolean => s.length > 66 && !s.startsWith('/') && /^[A-Za-z0-9+/=]+$/.test(s)

/** One scalar as a person reads it; `key` names what it is. */
export function scalar(key: string, v: unknown, o: RenderOptions, max: number): string {
  if (v === null || v === undefined) return '-'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (typeof v === 'number') {
    if (MOMENT.test(key) && isEpochMs(v)) return relative(v, o.now)
    // under 10 s a tenth of a second still tells something
    if (DURATION.test(key)) return v >= 1000 && v < 10_000 ? `${(v / 1000).toFixed(1)} s` : duration(v)
    if (SIZE.test(key)) return bytes(v)
    if (AMOUNT.test(key)) return amount(v, o.unit)
    return v.toLocaleString('en-US')
  }
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  if (o.full) return s
  // a signed object or key in base64 or hex says nothing at a glance: cut; on a line of its own, any other
  // single token (a payment request, an address, a path) stays whole to be copied; a table cuts everything long
  if (isBlob(s)) return shorten(s, Math.min(max, MAX_BLOB))
  if (max >= MAX_VALUE && !/\s/.test(s)) return s
  return shorten(s.replace(/\s+/g, ' '), max)
}

/** A value inside a table cell: scalars as above, a list as its length, an object as its fields in brief. */
function cell(key: string, v: unknown, o: RenderOptions): string {
  if (Array.isArray(v)) {
    if (v.length > 0 && v.length <= 3 && v.every(x => typeof x !== 'object'))
      return scalar(key, v.map(x => scalar(key, x, o, MAX_CELL)).join(', '), o, MAX_CELL * 2)
    return `${v.length} item${v.length === 1 ? '' : 's'}`
  }
  if (isRecord(v)) {
    const text = Object.entries(v)
      .filter(([, x]) => isScalar(x))
      .map(([k, x]) => `${k}=${scalar(k, x, o, MAX_CELL)}`)
      .join(' ')
    return o.full ? text : shorten(text, MAX_CELL * 2)
  }
  return scalar(key, v, o, MAX_CELL)
}

/** A list of records as an aligned table (columns in order of first appearance). */
export function records(rows: Rec[], o: RenderOptions, indent = ''): string[] {
  const keys: string[] = []
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k)
  // a column with nothing in any row says nothing
  const used = keys.filter(k => rows.some(r => r[k] !== undefined && r[k] !== null))
  const cols = o.full ? used : used.slice(0, MAX_COLUMNS)
  const shown = o.full ? rows : rows.slice(0, MAX_ROWS)
  const out = table(
    cols.map(k => label(k, rows.find(r => r[k] != null)?.[k])),
    shown.map(r => cols.map(k => cell(k, r[k], o))),
    indent
  )
  if (shown.length < rows.length) out.push(`${indent}… ${rows.length - shown.length} more (--full lists them all)`)
  const more = used.length - cols.length
  if (more > 0) out.push(`${indent}(${more} more field${more === 1 ? '' : 's'}: --full or --json)`)
  return out
}

/** A list of plain values, one a line. */
function lines(key: string, vs: unknown[], o: RenderOptions): string[] {
  const shown = o.full ? vs : vs.slice(0, MAX_LINES)
  const out = shown.map(v => scalar(key, v, o, MAX_VALUE))
  if (shown.length < vs.length) out.push(`… ${vs.length - shown.length} more (--full lists them all)`)
  return out
}

/** A record of at most MAX_INLINE plain fields reads on one line. */
const MAX_INLINE = 3
const isSmall = (r: Rec): boolean => {
  const vs = Object.values(r).filter(v => v !== undefined)
  return vs.length > 0 && vs.length <= MAX_INLINE && vs.every(isScalar)
}
const inline = (r: Rec, o: RenderOptions): string =>
  Object.entries(r)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${label(k, v)} ${scalar(k, v, o, MAX_CELL)}`)
    .join(', ')

/** An object as a key/value block: plain fields first, aligned; then each list of records and nested object. */
export function block(obj: Rec, o: RenderOptions, indent = ''): string[] {
  const flat: Array<[string, string[]]> = []
  const sections: string[][] = []
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue
    if (Array.isArray(v)) {
      if (v.length === 0) flat.push([label(k, v), ['none']])
      else if (v.every(isRecord))
        sections.push([`${indent}${label(k, v)} (${v.length}):`, ...records(v, o, indent + '  ')])
      else if (v.every(isScalar)) flat.push([label(k, v), lines(k, v, o)])
      else flat.push([label(k, v), [`${v.length} items (--json shows them)`]])
    } else if (isRecord(v) && isSmall(v)) flat.push([label(k, v), [inline(v, o)]])
    else if (isRecord(v)) {
      const inner = block(v, o, indent + '  ')
      sections.push([`${indent}${label(k, v)}:`, ...(inner.length > 0 ? inner : [`${indent}  none`])])
    } else flat.push([label(k, v), [scalar(k, v, o, MAX_VALUE)]])
  }
  return [...pairs(flat, indent), ...sections.flatMap(s => ['', ...s])].filter((l, i) => i > 0 || l !== '')
}

/** Any answer as text for a person (no trailing newline). */
export function render(v: unknown, o: RenderOptions): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return 'none'
    if (v.every(isRecord)) return records(v, o).join('\n')
    return lines('', v, o).join('\n')
  }
  if (isRecord(v)) {
    const out = block(v, o)
    return out.length > 0 ? out.join('\n') : 'done'
  }
  return scalar('', v, o, MAX_VALUE)
}
