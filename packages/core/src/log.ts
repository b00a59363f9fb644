// Structured JSON logs, one object per line on stderr.
export type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(name: string): Logger
}

export function createLogger(
  name: string,
  level: Level = (process.env.P2PAY_LOG_LEVEL as Level) ?? 'info',
  out: (line: string) => void = l => process.stderr.write(l)
): Logger {
  const min = ORDER[level] ?? ORDER.info
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return
    out(
      JSON.stringify({ ts: new Date().toISOString(), level: lvl, name, msg, ...fields }, (_k, v) =>
        v instanceof Error ? { name: v.name, message: v.message, code: (v as any).code } : v
      ) + '\n'
    )
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: n => createLogger(`${name}.${n}`, level, out)
  }
}
