// `p2pay dashboard`: the URL of a running daemon's dashboard with its token in
// the fragment (which browsers never send to the server; the page moves it to
// the tab's sessionStorage), opened in a browser when the desktop has one.
import { spawn } from 'node:child_process'
import { ErrorCode, P2payError } from '@p2pay/core'
import { targetFromDataDir } from '../../client.ts'
import { defaultDataDir, type Command, type Daemon } from '../../command.ts'

const DAEMONS: readonly Daemon[] = ['node', 'broker', 'ttp', 'judge']
const OPENER = 'xdg-open'

/**
 * Hands the URL to the desktop's opener; false when there is no desktop, no
 * opener or it cannot start: the URL is printed anyway. Without a display
 * xdg-open would fall back to a text browser with no terminal to run in.
 */
async function tryOpen(url: string): Promise<boolean> {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false
  return await new Promise(resolve => {
    try {
      const child = spawn(OPENER, [url], { detached: true, stdio: 'ignore' })
      child.once('error', () => resolve(false))
      child.once('spawn', () => {
        child.unref()
        resolve(true)
      })
    } catch {
      resolve(false)
    }
  })
}

export const dashboard: Command = {
  name: 'dashboard',
  summary: "the URL of a running daemon's live dashboard, with its token; opens it in a browser if it can",
  daemon: 'node',
  options: {
    daemon: { type: 'string', help: 'which daemon: node, broker, ttp or judge (its default --data-dir)' },
    'no-open': { type: 'boolean', help: 'print the URL only' }
  },
  examples: [
    'p2pay dashboard --data-dir ./.data/alice',
    'p2pay dashboard --daemon broker',
    'p2pay dashboard --data-dir ./.data/judge --no-open'
  ],
  run: async o => {
    const kind = (o.str('daemon') ?? 'node') as Daemon
    if (!DAEMONS.includes(kind))
      throw new P2payError(ErrorCode.BAD_REQUEST, `--daemon must be one of ${DAEMONS.join(', ')}`)
    const dataDir = o.str('data-dir') ?? process.env.P2PAY_DATA_DIR ?? defaultDataDir(kind)
    const t = targetFromDataDir(dataDir)
    const url = `${t.url}/dashboard/#token=${t.token}`
    const opened = o.bool('no-open') ? false : await tryOpen(url)
    return { url, opened }
  }
}
