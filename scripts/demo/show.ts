// What the demo prints: peers by name instead of peer id, one line per event,
// and a progress bar redrawn in place when the output is a terminal.
import type { Daemon } from '../lib/swarm.ts'

const names = new Map<string, string>()

export function nameAll(named: Record<string, Daemon>): void {
  for (const [n, d] of Object.entries(named)) names.set(d.peerId, n)
}

/** A daemon's or an account's name in the demo (the tail of its peer id if it has none). */
export const name = (id: string): string => names.get(id) ?? id.slice(-8)

export function line(s = ''): void {
  process.stdout.write(s + '\n')
}

export function heading(s: string): void {
  line(`\n${s}`)
}

const tty = process.stdout.isTTY === true

/** `[#####-----]  42 %  1.3 of 3.0 MiB`: redrawn on one line on a terminal, printed at 0, 50 and 100 % in a pipe. */
export function progressBar(label: string): { update: (done: number, total: number) => void; end: () => void } {
  let lastPrinted = -1
  const draw = (done: number, total: number): string => {
    const f = total > 0 ? Math.min(1, done / total) : 0
    const w = 30
    const bar = '#'.repeat(Math.round(f * w)).padEnd(w, '-')
    const mib = (n: number): string => (n / 1024 / 1024).toFixed(1)
    return `  ${label} [${bar}] ${String(Math.round(f * 100)).padStart(3)} %  ${mib(done)} of ${mib(total)} MiB`
  }
  let last = ''
  return {
    update: (done, total) => {
      last = draw(done, total)
      const pct = total > 0 ? Math.floor((done / total) * 2) * 50 : 0
      if (tty) process.stdout.write(`\r${last}`)
      else if (pct > lastPrinted) {
        lastPrinted = pct
        line(last)
      }
    },
    end: () => {
      if (tty) process.stdout.write('\n')
      else if (lastPrinted < 100 && last !== '') line(last)
    }
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))
