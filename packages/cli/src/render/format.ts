// How single values read to a person: amounts with their unit, times relative
// to now ("in 4 min", "2 s ago"), durations, byte sizes, and long strings cut
// in the middle so a table keeps its shape.

/** The unit amounts are counted in, unless a command group names its own (Karma counts karma). */
export const DEFAULT_UNIT = 'units'

/** A table cell longer than this is cut in the middle (unless --full). */
export const MAX_CELL = 24
/** A value in a key/value block longer than this is cut in the middle (unless --full). */
export const MAX_VALUE = 120

/** `25 units`, `1 unit`, `1,250 karma`. */
export function amount(n: number, unit = DEFAULT_UNIT): string {
  const u = n === 1 && unit.endsWith('s') ? unit.slice(0, -1) : unit
  return `${n.toLocaleString('en-US')} ${u}`
}

const STEPS: Array<[number, string]> = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's']
]

/** A span of time in its largest whole unit: `850 ms`, `12 s`, `4 min`, `3 h`, `2 d`. */
export function duration(ms: number): string {
  const a = Math.abs(ms)
  for (const [size, name] of STEPS) if (a >= size) return `${Math.floor(a / size)} ${name}`
  return `${Math.round(a)} ms`
}

/** A moment as seen from `now`: `in 4 min`, `2 s ago`, `now` within a second. */
export function relative(at: number, now: number): string {
  const d = at - now
  if (Math.abs(d) < 1000) return 'now'
  return d > 0 ? `in ${duration(d)}` : `${duration(d)} ago`
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** `512 B`, `1.5 KiB`, `300.0 MiB`. */
export function bytes(n: number): string {
  let v = n
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${BYTE_UNITS[i]}`
}

/** `s` cut to `max` characters, its start and end kept: `12D3KooWRBy…swrRJsNK`. */
export function shorten(s: string, max: number): string {
  if (s.length <= max) return s
  const tail = Math.floor((max - 1) / 3)
  return `${s.slice(0, max - 1 - tail)}…${s.slice(s.length - tail)}`
}

/** A field name as words: `toppedUp` -> `topped up`, `peer_id` -> `peer id`. */
export function words(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
}
