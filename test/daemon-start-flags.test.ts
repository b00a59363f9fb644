// A daemon (a broker here) started through the CLI runs with the V8 flags and the malloc arenas
// that keep its memory small (packages/cli/bin/p2pay.js replaces the process
// with one started with them): read from the running daemon's /proc, with the
// default flags, with none (P2PAY_DAEMON_NODE_FLAGS=''), and with arenas the
// caller set itself.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Swarm } from './helpers/swarm.ts'

const swarm = new Swarm('daemon-start-flags')
after(async () => await swarm.stopAll())

const proc = (pid: number, file: 'cmdline' | 'environ'): string[] =>
  readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean)

/** Starts one node with `env` set in this process for the spawn (the daemon inherits it), then restores it. */
async function started(name: string, env: Record<string, string | undefined>) {
  const saved = Object.fromEntries(Object.keys(env).map(k => [k, process.env[k]]))
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  try {
    return await swarm.add('broker', name)
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

test('a daemon runs with small semi-spaces and two malloc arenas; with no V8 flags, still the arenas', async () => {
  const plain = await started('plain', { P2PAY_DAEMON_NODE_FLAGS: undefined, MALLOC_ARENA_MAX: undefined })
  assert.ok(proc(plain.pid, 'cmdline').includes('--max-semi-space-size=4'), proc(plain.pid, 'cmdline').join(' '))
  assert.ok(proc(plain.pid, 'environ').includes('MALLOC_ARENA_MAX=2'))

  const noFlags = await started('no-flags', { P2PAY_DAEMON_NODE_FLAGS: '', MALLOC_ARENA_MAX: undefined })
  assert.ok(!proc(noFlags.pid, 'cmdline').some(a => a.startsWith('--max-semi-space-size')))
  assert.ok(proc(noFlags.pid, 'environ').includes('MALLOC_ARENA_MAX=2'), 'the arenas without any V8 flag')

  // replaced for its V8 flags, the daemon keeps the arenas its caller set
  const own = await started('own-arenas', { P2PAY_DAEMON_NODE_FLAGS: undefined, MALLOC_ARENA_MAX: '4' })
  assert.ok(proc(own.pid, 'cmdline').includes('--max-semi-space-size=4'))
  assert.ok(proc(own.pid, 'environ').includes('MALLOC_ARENA_MAX=4'), "the caller's own setting wins")
  for (const d of [plain, noFlags, own]) assert.ok((await d.api('GET', '/v1/status')) != null)
})
