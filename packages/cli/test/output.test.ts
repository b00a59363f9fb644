// What a client command prints, end to end: the CLI as its own process against
// a stand-in daemon (an HTTP server with the daemon's api.json and token), its
// stdout a pipe. An answer over 64 KiB arrives in full; long lists and strings
// are summarised unless --full.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { API_FILE, TOKEN_FILE } from '@p2pay/core'

const CLI = join(import.meta.dirname, '..', 'bin', 'p2pay.js')
const TOKEN = 't'.repeat(32)

/** Runs the CLI with stdout and stderr as pipes; the bytes it wrote and its exit code. */
async function cli(args: string[]): Promise<{ out: Buffer; err: string; code: number | null }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  return { out: Buffer.concat(out), err: Buffer.concat(err).toString('utf8'), code }
}

describe('p2pay output', () => {
  let server: Server
  let dir: string
  let answer: unknown = {}

  before(async () => {
    server = createServer((req, res) => {
      const ok = req.headers.authorization === `Bearer ${TOKEN}`
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
      res.end(JSON.stringify(ok ? answer : { error: { code: 'UNAUTHORIZED', message: 'token' } }))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    dir = mkdtempSync(join(tmpdir(), 'p2pay-cli-'))
    writeFileSync(join(dir, API_FILE), JSON.stringify({ apiPort: (server.address() as AddressInfo).port }))
    writeFileSync(join(dir, TOKEN_FILE), TOKEN)
  })
  after(async () => {
    await new Promise<void>(resolve => server.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('an answer of about 1 MB reaches a pipe in full: the CLI exits only once stdout took it all', async () => {
    // 90 records of 10 fields of 990 characters: nothing in it is long enough to be summarised
    const field = (i: number, j: number): string => `${i}.${j}:`.padEnd(990, 'x')
    const rows = Array.from({ length: 90 }, (_, i) =>
      Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`f${j}`, field(i, j)]))
    )
    answer = { purchases: rows }
    const r = await cli(['fairex', 'purchases', '--data-dir', dir])
    assert.equal(r.code, 0, r.err)
    const text = JSON.stringify(answer, null, 2) + '\n'
    assert.ok(Buffer.byteLength(text) > 900_000)
    assert.equal(r.out.length, Buffer.byteLength(text))
    assert.deepEqual(JSON.parse(r.out.toString('utf8')), answer)
  })

  it('by default a list of over 100 entries or a string of over 1000 characters prints as its length', async () => {
    const hashes = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(64, '0'))
    answer = {
      serial: 's'.repeat(1000),
      pieces: 'ab'.repeat(40_000),
      hashes,
      cheques: hashes.slice(0, 100),
      nested: [{ pieceIndex: Array.from({ length: 101 }, (_, i) => i), price: 25, form: null, ok: true }]
    }
    const r = await cli(['fairex', 'purchases', '--data-dir', dir])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(JSON.parse(r.out.toString('utf8')), {
      serial: 's'.repeat(1000),
      pieces: '<80000 chars: --full prints it>',
      hashes: '<5000 items: --full lists them>',
      cheques: hashes.slice(0, 100),
      nested: [{ pieceIndex: '<101 items: --full lists them>', price: 25, form: null, ok: true }]
    })
    // --full: the answer as the daemon gave it, every byte of it through the pipe
    const full = await cli(['fairex', 'purchases', '--data-dir', dir, '--full'])
    assert.equal(full.code, 0, full.err)
    assert.equal(full.out.length, Buffer.byteLength(JSON.stringify(answer, null, 2) + '\n'))
    assert.deepEqual(JSON.parse(full.out.toString('utf8')), answer)
  })

  it('--help of a client command tells of --full', async () => {
    const r = await cli(['fairex', 'buy', '--help'])
    assert.equal(r.code, 0, r.err)
    assert.match(r.out.toString('utf8'), /\[--full\]/)
    assert.match(r.out.toString('utf8'), /\n {2}--full +.*list of over 100 entries/)
  })
})
