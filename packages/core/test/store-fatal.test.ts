// A process whose LevelDB fails a write, seen from a peer: the request that hit
// the failure is answered with STORE_FAILED (not a dropped stream), the process
// still exits with code 70, and what it acknowledged is on disk, nothing else.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createP2payNode } from '../src/wire/libp2p-node.ts'
import { RpcClient } from '../src/wire/rpc.ts'
import { Store } from '../src/store/store.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const PROTO = '/p2pay-test/store-fatal/1.0.0'
const FIXTURE = join(import.meta.dirname, 'fixtures', 'store-fatal-server.ts')
const root = mkdtempSync(join(tmpdir(), 'p2pay-core-store-fatal-'))
let child: ChildProcess | undefined
let peer: Libp2p | undefined
after(async () => {
  if (child?.exitCode == null && child?.signalCode == null) child?.kill('SIGKILL')
  await peer?.stop()
  rmSync(root, { recursive: true, force: true })
})

describe('store failure in a serving process', () => {
  it('a failing LevelDB write: its request gets STORE_FAILED, the process exits 70, nothing lost', async () => {
    const dir = join(root, 'db')
    const c = spawn(process.execPath, [FIXTURE, dir, PROTO], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = c
    let stderr = ''
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = once(c, 'exit') as Promise<[number | null, string | null]>
    const lines = createInterface({ input: c.stdout })
    const [first] = (await Promise.race([
      once(lines, 'line'),
      exited.then(([code]) => assert.fail(`fixture exited with ${code} before it was ready: ${stderr}`))
    ])) as [string]
    const { addr } = JSON.parse(first) as { addr: string }

    peer = await createP2payNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dht: false })
    const rpc = new RpcClient(peer, multiaddr(addr), PROTO, { defaultTimeoutMs: 10_000 })
    assert.deepEqual(await rpc.call('put', { key: 'kept', value: 1 }), { saved: 'kept' })
    await rpc.call('break', {})
    await assert.rejects(rpc.call('put', { key: 'lost', value: 2 }), (e: unknown) => {
      assert.ok(e instanceof P2payError, String(e))
      assert.equal(e.code, ErrorCode.STORE_FAILED, e.message)
      return true
    })

    // bounded: the process exits on its own, a moment after the answer
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000)
    const [code, signal] = await exited
    clearTimeout(timer)
    assert.equal(signal, null, 'exited on its own')
    assert.equal(code, 70)
    assert.match(stderr, /store write failed/)
    await rpc.close()

    const s = new Store(dir)
    await s.open()
    try {
      assert.deepEqual(Object.fromEntries((await s.table('t')).entries()), { kept: 1 })
    } finally {
      await s.close()
    }
  })
})
