// The fraud benchmark's chart, written as plain SVG (no plotting dependency):
// broker CPU per cashed coin against the fraud rate, one curve per scheme, on
// a linear CPU axis from zero, so slopes and gaps read as they are.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface Curve {
  label: string
  colour: string
  points: Array<{ x: number; y: number }>
}

const W = 720
const H = 440
const M = { left: 80, right: 24, top: 60, bottom: 64 }
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function fraudChart(curves: Curve[], title: string, xLabel: string, yLabel: string): string {
  const xs = curves.flatMap(c => c.points.map(p => p.x))
  const ys = curves.flatMap(c => c.points.map(p => p.y))
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  // a round top: 1, 2 or 5 times a power of ten, in 5 to 10 steps
  const raw = Math.max(...ys, 1) / 5
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map(m => m * mag).find(v => v >= raw)!
  const top = Math.ceil(Math.max(...ys, 1) / step) * step
  const px = (x: number): number => M.left + ((x - x0) / (x1 - x0 || 1)) * (W - M.left - M.right)
  const py = (y: number): number => H - M.bottom - (y / top) * (H - M.top - M.bottom)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      'font-family="sans-serif" font-size="12">',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`
  ]
  for (let y = 0; y <= top + step / 2; y += step)
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${Math.round(y)}</text>`
    )
  for (const x of [...new Set(xs)].sort((a, b) => a - b))
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${H - M.bottom + 18}" text-anchor="middle">${x}</text>`
    )
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" ` +
      'fill="none" stroke="#333"/>',
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 20}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(20 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">` +
      `${esc(yLabel)}</text>`
  )
  curves.forEach((c, i) => {
    const pts = c.points.map(p => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')
    out.push(`<polyline points="${pts}" fill="none" stroke="${c.colour}" stroke-width="2"/>`)
    for (const p of c.points)
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${c.colour}"/>`)
    // the legend sits in the top margin, one entry per half of the width
    const lx = M.left + i * ((W - M.left - M.right) / 2)
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="42" y2="42" stroke="${c.colour}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="46">${esc(c.label)}</text>`
    )
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

export function writeChart(path: string, svg: string): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, svg)
}
