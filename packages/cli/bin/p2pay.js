#!/usr/bin/env node
// libp2p 3 needs Node >= 22. When started by an older system Node, re-run
// under the Node 24 that the project installs as a dependency.
//
// A daemon (`p2pay <daemon> start`) runs with V8 flags and malloc arenas that
// keep its memory small; Node and glibc read them only at start, so the process
// replaces itself with one started with them (execve: the pid stays, so do
// signals and stdio). P2PAY_DAEMON_NODE_FLAGS replaces the flags ('' for none),
// MALLOC_ARENA_MAX the arenas.
import { spawn } from 'node:child_process'
import module, { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * a young generation of 4 MiB semi-spaces instead of up to 32: tens of MiB less
 * resident. At 1 MiB the scavenges took a quarter of a busy broker's CPU and
 * PPay's rates fell by 40 % (payments A -> B 1,995/s against 3,846/s at 4 MiB)
 */
const DAEMON_NODE_FLAGS = ['--max-semi-space-size=4']
const DAEMONS = ['broker', 'node', 'ttp', 'judge']
/** set across the execve, so the new process does not do it again */
const REEXEC = 'P2PAY_DAEMON_REEXEC'

const major = Number(process.versions.node.split('.')[0])
const self = fileURLToPath(import.meta.url)
const main = join(dirname(self), '..', 'src', 'main.ts')
const args = process.argv.slice(2)
const isDaemon = DAEMONS.includes(args[0]) && args[1] === 'start'

function daemonFlags() {
  const env = process.env.P2PAY_DAEMON_NODE_FLAGS
  const flags = env == null ? DAEMON_NODE_FLAGS : env.split(' ').filter(Boolean)
  // a flag given on the command line (e.g. through P2PAY_NODE_ARGS) wins
  return flags.filter(f => !process.execArgv.some(a => a.split('=')[0] === f.split('=')[0]))
}

if (major >= 22) {
  const again = process.env[REEXEC] === '1'
  delete process.env[REEXEC]
  const flags = isDaemon && !again ? daemonFlags() : []
  // a daemon is replaced for its malloc arenas too, even with no V8 flags to add (unless they are set already)
  const arenas = isDaemon && !again && process.env.MALLOC_ARENA_MAX == null
  if ((flags.length > 0 || arenas) && typeof process.execve === 'function') {
    try {
      process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, self, ...args], {
        // two malloc arenas, not glibc's eight per core: memory freed in one thread's arena stayed resident (2 MiB
        // of an idle node, about 6 of a busy one)
        MALLOC_ARENA_MAX: '2',
        ...process.env,
        [REEXEC]: '1'
      })
    } catch {} // not replaced: run as started
  }
  // the type-stripped and compiled modules are kept on disk (keyed by their source): a start needs neither the
  // TypeScript stripper in memory nor the time to run it
  module.enableCompileCache?.()
  await import(main)
} else {
  const require = createRequire(import.meta.url)
  let node
  try {
    node = join(dirname(require.resolve('node/package.json')), 'bin', 'node')
  } catch {
    process.stderr.write(`p2pay needs Node >= 22 (found ${process.version}); run 'npm ci' in the repository first\n`)
    process.exit(1)
  }
  // through this file again, so a daemon gets its flags and the compile cache under the newer Node too
  const child = spawn(node, [self, ...args], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}
