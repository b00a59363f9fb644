// `p2pay whopay ...` as its own process against a stand-in control API (an
// HTTP server with a daemon's api.json and token): each command sends the
// route and body the daemons serve, an error answer prints as `error CODE:
// message (hint)` with exit 1, and bad options are refused before any daemon is asked.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { API_FILE, TOKEN_FILE } from '@p2pay/core'
import { SCHEMES } from '../src/cmds/index.ts'

const CLI = join(import.meta.dirname, '..', 'bin', 'p2pay.js')
const TOKEN = 'w'.repeat(32)
const PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

async function cli(args: string[]): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  return { out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8'), code }
}

interface Seen {
  method: string
  path: string
  body: unknown
}

describe('p2pay whopay', () => {
  let server: Server
  let dir: string
  const seen: Seen[] = []
  let status = 200
  let answer: unknown = { ok: true }

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        seen.push({ method: req.method ?? '', path: req.url ?? '', body: text === '' ? undefined : JSON.parse(text) })
        const ok = req.headers.authorization === `Bearer ${TOKEN}`
        res.writeHead(ok ? status : 401, { 'content-type': 'application/json' })
        res.end(JSON.stringify(ok ? answer : { error: { code: 'UNAUTHORIZED', message: 'token' } }))
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    dir = mkdtempSync(join(tmpdir(), 'p2pay-cli-whopay-'))
    writeFileSync(join(dir, API_FILE), JSON.stringify({ apiPort: (server.address() as AddressInfo).port }))
    writeFileSync(join(dir, TOKEN_FILE), TOKEN)
  })
  after(async () => {
    await new Promise<void>(resolve => server.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('is a scheme group with the nine verbs', () => {
    const g = SCHEMES.find(x => x.name === 'whopay')
    assert.ok(g != null)
    assert.deepEqual(
      g.commands.map(c => c.name),
      ['join', 'buy', 'pay', 'deposit', 'renew', 'withdraw', 'coins', 'frauds', 'openings']
    )
    const daemon = Object.fromEntries(g.commands.map(c => [c.name, c.daemon]))
    assert.deepEqual([daemon.coins, daemon.frauds, daemon.openings], ['node', 'broker', 'judge'])
  })

  it('each command calls the route of the contract with its body', async () => {
    const cases: Array<[string[], string, string, unknown]> = [
      [['join'], 'POST', '/v1/whopay/join', {}],
      [['buy', '--value', '5', '--count', '3'], 'POST', '/v1/whopay/buy', { value: 5, count: 3 }],
      [['buy', '--value', '2'], 'POST', '/v1/whopay/buy', { value: 2 }],
      [['pay', '--to', PEER, '--amount', '7'], 'POST', '/v1/whopay/pay', { to: PEER, amount: 7 }],
      [
        ['pay', '--to', `/ip4/127.0.0.1/tcp/4002/p2p/${PEER}`, '--amount', '1'],
        'POST',
        '/v1/whopay/pay',
        { to: `/ip4/127.0.0.1/tcp/4002/p2p/${PEER}`, amount: 1 }
      ],
      [['deposit'], 'POST', '/v1/whopay/deposit', {}],
      [['deposit', '--coin', PEER], 'POST', '/v1/whopay/deposit', { coin: PEER }],
      [['renew', '--coin', PEER], 'POST', '/v1/whopay/renew', { coin: PEER }],
      [['withdraw'], 'POST', '/v1/whopay/withdraw', {}],
      [['withdraw', '--amount', '4'], 'POST', '/v1/whopay/withdraw', { amount: 4 }],
      [['coins'], 'GET', '/v1/whopay/coins', undefined],
      [['frauds'], 'GET', '/v1/whopay/frauds', undefined],
      [['openings'], 'GET', '/v1/whopay/openings', undefined]
    ]
    answer = { ok: true }
    seen.length = 0
    // four CLI processes at a time; the requests seen are compared as a set
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async ([args]) => {
          const r = await cli(['whopay', ...args, '--data-dir', dir, '--json'])
          assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`)
          assert.deepEqual(JSON.parse(r.out), answer)
        })
      )
    }
    // a payment's generated id (cli-...) differs each run: the rest of the body is compared
    const key = (x: Seen): string => {
      const { id, ...body } = (x.body ?? {}) as Record<string, unknown>
      const kept = typeof id === 'string' && id.startsWith('cli-') ? body : x.body
      return JSON.stringify([x.method, x.path, x.body === undefined ? undefined : kept])
    }
    assert.deepEqual(seen.map(key).sort(), cases.map(([, method, path, body]) => key({ method, path, body })).sort())
  })

  it("a daemon's refusal prints as error CODE: message (hint), exit 1; --full prints a long answer whole", async () => {
    status = 409
    answer = { error: { code: 'FRAUD', message: 'coin already transferred at seq 2' } }
    const r = await cli(['whopay', 'pay', '--to', PEER, '--amount', '1', '--data-dir', dir])
    assert.equal(r.code, 1)
    assert.match(r.err, /^error FRAUD: coin already transferred at seq 2 \(.*p2pay broker frauds\)\)$/m)
    status = 200
    const held = Array.from({ length: 150 }, (_, i) => ({ coin: `c${i}`, value: 1 }))
    answer = { owned: [], held, pending: [], spent: [], purse: { id: PEER, balance: 0 } }
    const short = JSON.parse((await cli(['whopay', 'coins', '--data-dir', dir, '--json'])).out)
    assert.equal(short.held, '<150 items: --full lists them>')
    const full = JSON.parse((await cli(['whopay', 'coins', '--data-dir', dir, '--full', '--json'])).out)
    assert.deepEqual(full, answer)
  })

  it('bad or missing options are refused (exit 2) before a daemon is looked for', async () => {
    seen.length = 0
    const none = join(dir, 'none')
    const cases: Array<[string[], RegExp]> = [
      [['buy', '--count', '2'], /--value is required/],
      [['buy', '--value', 'five'], /--value must be an integer/],
      [['pay', '--amount', '1'], /--to is required/],
      [['pay', '--to', PEER], /--amount is required/],
      [['renew'], /--coin is required/],
      [['withdraw', '--amount'], /--amount needs a value/],
      [['deposit', '--colour', 'red'], /unknown option --colour/]
    ]
    for (const [args, message] of cases) {
      const r = await cli(['whopay', ...args, '--data-dir', none])
      assert.equal(r.code, 2, args.join(' '))
      assert.match(r.err, message)
    }
    assert.deepEqual(seen, [])
    const r = await cli(['whopay', 'coins', '--data-dir', none])
    assert.equal(r.code, 1)
    assert.match(r.err, /error UNREACHABLE: no running daemon found/)
  })

  it('--help of the group and of each verb', async () => {
    const g = await cli(['whopay', '--help'])
    assert.equal(g.code, 0)
    for (const c of ['join', 'buy', 'pay', 'deposit', 'renew', 'withdraw', 'coins', 'frauds', 'openings'])
      assert.match(g.out, new RegExp(`\\n  ${c} `))
    const pay = await cli(['whopay', 'pay', '--help'])
    assert.match(pay.out, /Usage: p2pay whopay pay --to <to> --amount <n>/)
    assert.match(pay.out, /Examples:\n {2}p2pay whopay pay --to /)
  })
})
