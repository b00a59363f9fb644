// An error as one line for a person: the code, what went wrong, and what to
// do about it. The hint is chosen by code (codes are stable, messages are not).
import { P2payError } from '@p2pay/core'

const TOPUP = 'p2pay broker topup --account <peer id> --amount <n>'

/** What to do after each code, in a few words. */
export const HINTS: Record<string, string> = {
  UNAUTHORIZED: "the data dir's api.token is not the running daemon's: pass the --data-dir it was started with",
  UNREACHABLE: 'start it (p2pay <daemon> start) or give the --data-dir it runs with; for a peer, check its address',
  NOT_FOUND: 'check that what it names exists: the list commands (coins, files, purchases, payments) show it',
  UNKNOWN_OP: 'this daemon does not serve it: check --data-dir names the right daemon (p2pay status)',
  BAD_REQUEST: 'see p2pay <command> --help for the options and an example',
  INSUFFICIENT_FUNDS: `top the account up (${TOPUP}) or ask for less`,
  NO_EXACT_AMOUNT: 'no coins add up to it exactly: buy coins of that value (p2pay ppay buy) or pay another amount',
  PARTIAL_PAYMENT: 'part of it went through: p2pay payments shows which, pay only the rest',
  TIMEOUT: 'it did not answer in time: retry; p2pay payments shows whether it went through',
  BUSY: 'the daemon is at its request budget: retry in a moment',
  ABORTED: 'the daemon is stopping: start it again, then retry',
  STORE_FAILED: "the daemon's disk write failed and it exited: check the disk and its log, restart it, retry",
  NO_SPACE: 'the disk is full: free space, then retry',
  EXPIRED: 'it is past its expiry: get a fresh one (renew the coin, ask for a new request)',
  CLOCK_SKEW: "the two machines' clocks differ: set the wrong one right (NTP)",
  STALE_SEQ: 'it was superseded by a later one: look at the current state, then retry',
  REPLAY: 'this was sent before: look at the current state instead of sending it again',
  ALREADY_CASHED: 'nothing to do: it was cashed before',
  FRAUD: 'the coin was spent twice: the broker keeps the proof (p2pay broker frauds)',
  WRONG_OWNER: 'this node does not own it: check the id',
  WRONG_HOLDER: 'this node does not hold it: check the id (p2pay <scheme> coins)',
  WRONG_BROKER: 'it belongs to another broker, AC or bank-set: check --broker',
  NO_SUCH_COIN: 'check the coin id: p2pay <scheme> coins lists them',
  NO_SUCH_PURSE: 'deposit a coin first: the purse is made by the first deposit',
  COIN_SPENT: 'the coin was deposited or renewed and moves no more: use another',
  OVER_LIMIT: 'the certificate is used up: certify a larger limit (p2pay aggsign certify)',
  LAYER_LIMIT: 'the coin has all its layers: cash it or renew it',
  LAYER_DEPTH: 'the coin has all its layers: cash it',
  NO_MAJORITY: 'too few of the bank-set answered alike: retry in a moment (more nodes up helps)',
  INTERNAL: "an unexpected failure: the daemon's log has the details (P2PAY_DEBUG=1 shows where it failed here)",
  EADDRINUSE: 'the port is taken: give another --listen or --api-port, or stop what holds it'
}

/** The code of anything thrown: a P2payError's, a system error's (EADDRINUSE), else INTERNAL. */
export function codeOf(err: unknown): string {
  if (err instanceof P2payError) return err.code
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'INTERNAL'
}

/**
 * `error CODE: message (what to do)`, on one line whatever the message holds;
 * the command (e.g. `ppay pay`) and the daemon it talks to fill the hint in when known.
 */
export function errorLine(err: unknown, at: { command?: string; daemon?: string } = {}): string {
  const code = codeOf(err)
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim()
  const hint = HINTS[code]?.replace('<command>', at.command ?? '<command>').replace('<daemon>', at.daemon ?? '<daemon>')
  return `error ${code}: ${message}${hint !== undefined ? ` (${hint})` : ''}`
}
