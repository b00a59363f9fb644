// Durations on the command line: `90s`, `15m`, `2h`, `1d`, or plain milliseconds.
import { ErrorCode, fail } from '@p2pay/core'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function durationMs(v: string | undefined, flag: string): number | undefined {
  if (v == null) return undefined
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim())
  if (m == null) fail(ErrorCode.BAD_REQUEST, `--${flag} must be a duration like 90s, 15m, 2h or 1d`)
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']
}
