// Aligned columns: a header row in capitals, cells padded to the widest of
// their column; a column of numbers (amounts, counts, sizes) aligns right.

const NUMERIC = /^-?[\d,.]+( |$)/

/** The lines of a table: the header, then one per row, each `indent` deep, no trailing blanks. */
export function table(headers: string[], rows: string[][], indent = ''): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const right = headers.map((_, i) => {
    const cells = rows.map(r => r[i] ?? '').filter(c => c !== '' && c !== '-')
    return cells.length > 0 && cells.every(c => NUMERIC.test(c))
  })
  const line = (cells: string[]): string =>
    indent +
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(headers.map(h => h.toUpperCase())), ...rows.map(line)]
}

/** Key/value lines with the values aligned; a value of several lines continues under the first. */
export function pairs(entries: Array<[string, string[]]>, indent = ''): string[] {
  const w = Math.max(0, ...entries.map(([k]) => k.length))
  return entries.flatMap(([k, vs]) => vs.map((v, i) => `${indent}${(i === 0 ? k : '').padEnd(w)}  ${v}`.trimEnd()))
}
