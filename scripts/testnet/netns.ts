// The testnet's plumbing: a bridge in the root namespace and one network
// namespace per host, each joined to the bridge by a veth pair. Every name
// starts with the testnet's prefix (`p2t-<n>-`), so teardown finds all it made
// by name, also after a runner was killed, and touches nothing else.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The prefix of every namespace and link a testnet makes; `p2t-<n>-` for testnet n. */
export const PREFIX = 'p2t-'
/** Testnets numbered 0..MAX_NETS-1 may run side by side, each on its own /24 (10.77.<n>.0/24). */
export const MAX_NETS = 200
/** Host i of testnet n is 10.77.<n>.<HOST_BASE + i>; .1 is the root end of the bridge. */
export const HOST_BASE = 10
/** at most this many hosts per testnet: addresses .10 to .129 of its /24, and .130 to .249 for second addresses */
export const MAX_HOSTS = 120

export const netPrefix = (n: number): string => `${PREFIX}${n}-`
export const bridgeName = (n: number): string => `${netPrefix(n)}br`
export const subnet = (n: number): string => `10.77.${n}`

/** Runs a command; throws with its stderr when it fails. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { timeout: 30_000 })).stdout
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')}: ${String(err.stderr ?? err.message).trim()}`)
  }
}

/** Runs a command inside namespace `ns`. */
export async function nsExec(ns: string, cmd: string, ...args: string[]): Promise<string> {
  return await sh('ip', 'netns', 'exec', ns, cmd, ...args)
}

export async function namespaces(prefix = PREFIX): Promise<string[]> {
  const out = await sh('ip', 'netns', 'list')
  return out
    .split('\n')
    .map(l => l.split(' ')[0])
    .filter(n => n.startsWith(prefix))
}

export async function links(prefix = PREFIX): Promise<string[]> {
  const out = await sh('ip', '-o', 'link', 'show')
  return out
    .split('\n')
    .map(l => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter(n => n.startsWith(prefix))
}

/**
 * Claims a free testnet number by creating its bridge: `ip link add` fails for a
 * name that exists, so two runners starting together never share one.
 */
export async function claimBridge(): Promise<number> {
  const taken = new Set(await links())
  for (let n = 0; n < MAX_NETS; n++) {
    if (taken.has(bridgeName(n))) continue
    try {
      await sh('ip', 'link', 'add', bridgeName(n), 'type', 'bridge')
    } catch {
      continue // taken meanwhile
    }
    try {
      await sh('ip', 'addr', 'add', `${subnet(n)}.1/24`, 'dev', bridgeName(n))
      await sh('ip', 'link', 'set', bridgeName(n), 'up')
      await sh('iptables', '-w', '5', '-I', 'FORWARD', ...forwardRule(n))
    } catch (err) {
      await teardown(netPrefix(n))
      throw err
    }
    return n
  }
  throw new Error(`no free testnet number below ${MAX_NETS} (leftovers? npm run testnet -- down)`)
}

/**
 * With br_netfilter loaded, frames crossing a bridge pass the root namespace's
 * FORWARD chain, whose policy dockerd sets to DROP: the one rule a testnet adds
 * outside its namespaces lets traffic between its own hosts through (found and
 * removed by its comment, the testnet's prefix).
 */
const forwardRule = (n: number): string[] => [
  ...['-i', bridgeName(n), '-o', bridgeName(n)],
  ...['-m', 'comment', '--comment', netPrefix(n), '-j', 'ACCEPT']
]

/** The FORWARD rules (as `iptables -S` prints them) whose comment starts with `prefix`. */
export async function forwardRules(prefix = PREFIX): Promise<string[]> {
  const rules = await sh('iptables', '-w', '5', '-S', 'FORWARD').catch(() => '')
  return rules.split('\n').filter(line => {
    const words = line.split(' ')
    return words[0] === '-A' && words.includes('--comment') && words[words.indexOf('--comment') + 1].startsWith(prefix)
  })
}

async function removeForwardRules(prefix: string): Promise<void> {
  for (const rule of await forwardRules(prefix)) await sh('iptables', '-w', '5', '-D', ...rule.split(' ').slice(1))
}

/** Namespace `ns` with `eth0` at `ip`/24 on the bridge of testnet n (the root end of the veth is named `ns`). */
export async function addHost(n: number, ns: string, ip: string): Promise<void> {
  await sh('ip', 'netns', 'add', ns)
  await sh('ip', 'link', 'add', ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
  await sh('ip', 'link', 'set', ns, 'master', bridgeName(n), 'up')
  await sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0')
  await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up')
  await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
}

/** Pids of the processes inside namespace `ns` (every one a testnet started there). */
export async function nsPids(ns: string): Promise<number[]> {
  const out = await sh('ip', 'netns', 'pids', ns).catch(() => '')
  return out
    .split('\n')
    .map(Number)
    .filter(p => p > 0)
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** kill -9 each pid (a frozen one too) and wait, a bounded time, until they are gone. */
export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  const until = Date.now() + 10_000
  while (pids.some(alive) && Date.now() < until) await new Promise(r => setTimeout(r, 50))
}

/**
 * Removes everything under `prefix`: the processes in its namespaces (kill -9 by pid),
 * the namespaces (their iptables rules, qdiscs and veth ends go with them), then
 * any link left (the bridges), and its FORWARD rule. Each step goes on when one item fails.
 */
export async function teardown(prefix = PREFIX): Promise<string[]> {
  const failed: string[] = []
  const nss = await namespaces(prefix)
  const pids: number[] = []
  // by namespace, not by a recorded list: a pid recorded by a runner that died may belong to another process now
  for (const ns of nss) pids.push(...(await nsPids(ns)))
  await killPids(pids)
  for (const ns of nss) await sh('ip', 'netns', 'del', ns).catch((e: Error) => failed.push(e.message))
  await removeForwardRules(prefix).catch((e: Error) => failed.push(e.message))
  for (const l of await links(prefix)) {
    // a veth whose namespace was just deleted may vanish between the listing and the delete
    await sh('ip', 'link', 'del', l).catch((e: Error) => {
      if (!e.message.includes('Cannot find device')) failed.push(e.message)
    })
  }
  return failed
}
