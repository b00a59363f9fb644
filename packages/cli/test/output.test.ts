// What a client command prints, end to end: the CLI as its own process against
// a stand-in daemon (an HTTP server with the daemon's api.json and token), its
// stdout a pipe. By default a person's view (tables, amounts with their unit,
// relative times); --json the daemon's JSON, which scripts parse. An answer
// over 64 KiB arrives in full; long lists and strings are summarised unless
// --full. An error is one line with its code and what to do.
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
    const r = await cli(['fairex', 'purchases', '--data-dir', dir, '--json'])
    assert.equal(r.code, 0, r.err)
    const text = JSON.stringify(answer, null, 2) + '\n'
    assert.ok(Buffer.byteLength(text) > 900_000)
    assert.equal(r.out.length, Buffer.byteLength(text))
    assert.deepEqual(JSON.parse(r.out.toString('utf8')), answer)
  })

  it('with --json a list of over 100 entries or a string of over 1000 characters prints as its length', async () => {
    const hashes = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(64, '0'))
    answer = {
      serial: 's'.repeat(1000),
      pieces: 'ab'.repeat(40_000),
      hashes,
      cheques: hashes.slice(0, 100),
      nested: [{ pieceIndex: Array.from({ length: 101 }, (_, i) => i), price: 25, form: null, ok: true }]
    }
    const r = await cli(['fairex', 'purchases', '--data-dir', dir, '--json'])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(JSON.parse(r.out.toString('utf8')), {
      serial: 's'.repeat(1000),
      pieces: '<80000 chars: --full prints it>',
      hashes: '<5000 items: --full lists them>',
      cheques: hashes.slice(0, 100),
      nested: [{ pieceIndex: '<101 items: --full lists them>', price: 25, form: null, ok: true }]
    })
    // --full: the answer as the daemon gave it, every byte of it through the pipe
    const full = await cli(['fairex', 'purchases', '--data-dir', dir, '--full', '--json'])
    assert.equal(full.code, 0, full.err)
    assert.equal(full.out.length, Buffer.byteLength(JSON.stringify(answer, null, 2) + '\n'))
    assert.deepEqual(JSON.parse(full.out.toString('utf8')), answer)
  })

  it('by default a table, amounts with units, relative times; --json prints the JSON scripts parse', async () => {
    const now = Date.now()
    const peer = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
    answer = {
      balance: 95,
      owned: [
        { sn: 'a'.repeat(32), value: 5, holder: peer, expiresAt: now + 4 * 60_000 + 30_000 },
        { sn: 'b'.repeat(32), value: 1, holder: null, expiresAt: now - 2 * 3600_000 - 60_000 }
      ]
    }
    const r = await cli(['ppay', 'coins', '--data-dir', dir])
    assert.equal(r.code, 0, r.err)
    const text = r.out.toString('utf8')
    assert.throws(() => JSON.parse(text), SyntaxError, 'the default output is not JSON')
    const lines = text.split('\n')
    assert.equal(lines[0], 'balance  95 units')
    const head = lines.findIndex(l => /^ {2}SN +VALUE +HOLDER +EXPIRES AT$/.test(l))
    assert.ok(head > 0, text)
    // the columns line up: each value starts where its header does
    const col = (l: string, h: string): number => l.indexOf(h)
    assert.match(lines[head + 1], /^ {2}a{16}…a{7} +5 units +12D3KooWRBy97UB9…wrRJsNK +in 4 min$/)
    assert.match(lines[head + 2], /^ {2}b{16}…b{7} +1 unit +- +2 h ago$/)
    assert.equal(col(lines[head + 1], 'in 4 min'), col(lines[head], 'EXPIRES AT'))
    assert.equal(col(lines[head + 1], '12D3'), col(lines[head], 'HOLDER'))
    // a right-aligned amount column: the units end where the header ends
    assert.equal(col(lines[head + 1], '5 units') + 7, col(lines[head], 'VALUE') + 5)
    const json = await cli(['ppay', 'coins', '--data-dir', dir, '--json'])
    assert.equal(json.out.toString('utf8'), JSON.stringify(answer, null, 2) + '\n')
    // Karma counts in karma
    answer = { peer, balance: 25 }
    const k = await cli(['karma', 'balance', '--data-dir', dir])
    assert.match(k.out.toString('utf8'), /^balance {2}25 karma$/m)
  })

  it("an error is one line: its code, the daemon's message and what to do; exit 1", async () => {
    const wrong = mkdtempSync(join(tmpdir(), 'p2pay-cli-token-'))
    try {
      writeFileSync(join(wrong, API_FILE), JSON.stringify({ apiPort: (server.address() as AddressInfo).port }))
      writeFileSync(join(wrong, TOKEN_FILE), 'not-the-token')
      const r = await cli(['ppay', 'balance', '--data-dir', wrong])
      assert.equal(r.code, 1)
      assert.equal(r.out.length, 0)
      assert.match(r.err, /^error UNAUTHORIZED: token \(.*api\.token.*--data-dir.*\)\n$/)
      const gone = await cli(['ppay', 'balance', '--data-dir', join(wrong, 'none')])
      assert.match(gone.err, /^error UNREACHABLE: no running daemon found: .* \(start it \(p2pay node start\) .*\)\n$/)
      const bad = await cli(['ppay', 'buy', '--count', 'x', '--value', '1'])
      assert.equal(bad.code, 2)
      assert.match(bad.err, /^error BAD_REQUEST: --count must be an integer \(see p2pay ppay buy --help .*\)\n$/)
    } finally {
      rmSync(wrong, { recursive: true, force: true })
    }
  })

  it('--help of a client command tells of --full', async () => {
    const r = await cli(['fairex', 'buy', '--help'])
    assert.equal(r.code, 0, r.err)
    assert.match(r.out.toString('utf8'), /\[--full\]/)
    assert.match(r.out.toString('utf8'), /\n {2}--full +.*list of over 100 entries/)
  })
})
