// What the model runner reads: the checks a model's header lists, and pan's
// report of one run. pan exits 0 whether or not it found an error, so the
// verdict comes from its text; a report without the figures a complete search
// prints is a tool failure, never a pass.

export type Expected = 'holds' | 'violated'

/** One `// check: <label> <holds|violated> <pan args> [| <cc -D flags>]` line of a model's header. */
export interface Check {
  label: string
  expected: Expected
  panArgs: string[]
  ccFlags: string[]
}

export interface ModelHeader {
  checks: Check[]
  /** `// bound: <seconds>`: the longest one pan run may take */
  boundS?: number
}

const CHECK = /^\s*(?:\/\/|\*)\s*check:\s*(.*)$/
const BOUND = /^\s*(?:\/\/|\*)\s*bound:\s*(\S+)\s*$/

/** The checks of a model's source; a malformed check line throws, naming it. */
export function parseHeader(source: string): ModelHeader {
  const checks: Check[] = []
  let boundS: number | undefined
  for (const line of source.split('\n')) {
    const b = BOUND.exec(line)
    if (b != null) {
      boundS = Number(b[1])
      if (!Number.isFinite(boundS) || boundS <= 0) throw new Error(`bad bound line: ${line.trim()}`)
      continue
    }
    const m = CHECK.exec(line)
    if (m == null) continue
    const [spec, flags = ''] = m[1].split('|')
    const [label, expected, ...panArgs] = spec.trim().split(/\s+/)
    if (label == null || label === '' || (expected !== 'holds' && expected !== 'violated')) {
      const want = 'check: <label> <holds|violated> <pan args> [| <cc flags>]'
      throw new Error(`bad check line (want "${want}"): ${line.trim()}`)
    }
    const ccFlags = flags.trim() === '' ? [] : flags.trim().split(/\s+/)
    checks.push({ label, expected, panArgs, ccFlags })
  }
  return { checks, ...(boundS != null ? { boundS } : {}) }
}

/** The figures of one pan run. */
export interface PanReport {
  errors: number
  statesStored: number
  depth: number
  /** pan's own elapsed time */
  seconds: number
  /** the trail file pan wrote, if it found an error */
  trail?: string
  /** the search stopped short of the whole state space without an error (depth bound hit, memory out) */
  incomplete?: string
}

const num = (re: RegExp, text: string): number | undefined => {
  const m = re.exec(text)
  return m == null ? undefined : Number(m[1])
}

/** pan's report, or an Error saying which figure is missing (pan failed, or this is not pan's output). */
export function parsePanOutput(text: string): PanReport | Error {
  const errors = num(/\berrors: (\d+)/, text)
  const statesStored = num(/([\d.e+]+) states, stored/, text)
  const depth = num(/depth reached (\d+)/, text)
  const seconds = num(/pan: elapsed time ([\d.e+-]+) seconds/, text)
  if (errors == null || statesStored == null || depth == null || seconds == null) {
    const said = /pan: error:?.*|pan:.*(out of memory|too many|recompile).*/.exec(text)?.[0]
    return new Error(`pan gave no complete report${said != null ? `: ${said}` : ''}`)
  }
  const trail = /pan: wrote (\S+\.trail)/.exec(text)?.[1]
  const short =
    /error: max search depth too small/.exec(text)?.[0] ??
    /pan: reached -DMEMLIM bound/.exec(text)?.[0] ??
    /pan: out of memory/.exec(text)?.[0] ??
    (errors === 0 ? /Warning: Search not completed/.exec(text)?.[0] : undefined)
  return {
    errors,
    statesStored,
    depth,
    seconds,
    ...(trail != null ? { trail } : {}),
    ...(short != null ? { incomplete: short } : {})
  }
}

/** What a report says of a check: null when it is as expected, else why not. */
export function mismatch(expected: Expected, r: PanReport): string | null {
  if (expected === 'holds') {
    if (r.errors > 0) return `expected to hold, pan found ${r.errors} error(s)${r.trail != null ? ` (${r.trail})` : ''}`
    if (r.incomplete != null) return `search incomplete, so nothing is proved: ${r.incomplete}`
    return null
  }
  if (r.errors === 0) return 'expected a counterexample, pan found none'
  if (r.trail == null) return 'pan reported errors but wrote no trail'
  return null
}

/** The verdict pan's figures give, in the header's words. */
export const outcome = (r: PanReport): Expected => (r.errors > 0 ? 'violated' : 'holds')
