// How the CLI's answers reach the terminal or a pipe. An answer prints for a
// person (render/) by default, as JSON with --json: scripts pass --json. A
// pipe takes 64 KiB at a time and Node queues the rest: process.exit right
// after a write cuts it off, so every exit waits until stdout and stderr have
// handed all they hold to the OS. A daemon's record can be large (a purchase
// carries its per-piece hashes): by default long lists and strings print as
// their length (in JSON) or cut (for a person); --full prints it all.

/** A list of more entries than this prints as its length (unless --full). */
export const MAX_LIST = 100
/** A string of more characters than this prints as its length (unless --full). */
export const MAX_TEXT = 1000

export const FULL_HELP =
  `print the answer in full (by default a list of over ${MAX_LIST} entries or a string ` +
  `of over ${MAX_TEXT} characters prints as its length, and tables and long values are cut)`

export const JSON_HELP =
  'print the answer as JSON, for scripts (the default is tables and key/value lines for a person)'

/** The answer as --json prints it: the daemon's JSON, long lists and strings summarised unless `full`. */
export const asJson = (answer: unknown, full: boolean): string =>
  JSON.stringify(full ? answer : summarise(answer), null, 2) + '\n'

/** `v` with every list over MAX_LIST entries and every string over MAX_TEXT characters replaced by its length. */
export function summarise(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_TEXT ? `<${v.length} chars: --full prints it>` : v
  if (Array.isArray(v)) return v.length > MAX_LIST ? `<${v.length} items: --full lists them>` : v.map(summarise)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarise(x)]))
  return v
}

const quiet = new WeakSet<NodeJS.WritableStream>()

/**
 * Writes `text` and resolves once the stream has handed it (and all written
 * before it) to the OS, or failed: a reader that went away (EPIPE, as with
 * `| head`) is not waited for, and is no failure of the command.
 */
export async function print(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!quiet.has(stream)) {
    quiet.add(stream)
    stream.on('error', () => {})
  }
  await new Promise<void>(resolve => stream.write(text, () => resolve()))
}

/** process.exit(code), once stdout and stderr have written out everything queued on them. */
export async function exitFlushed(code: number): Promise<never> {
  await Promise.all([print(process.stdout, ''), print(process.stderr, '')])
  process.exit(code)
}
