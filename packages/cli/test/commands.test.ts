// The command table: every daemon and scheme is a group, every command says
// what it does and shows an example of itself; `p2pay --help` lists them all.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { COMMON, DAEMONS, SCHEMES } from '../src/cmds/index.ts'

const CLI = join(import.meta.dirname, '..', 'bin', 'p2pay.js')
const run = promisify(execFile)

describe('p2pay commands', () => {
  it('groups: the four daemons (each with start and status) and the schemes', () => {
    assert.deepEqual(
      DAEMONS.map(g => g.name),
      ['broker', 'ttp', 'judge', 'node']
    )
    for (const g of DAEMONS)
      assert.ok(
        ['start', 'status'].every(c => g.commands.some(x => x.name === c)),
        g.name
      )
    assert.deepEqual(
      SCHEMES.map(g => g.name),
      ['ppay', 'fairex', 'karma', 'aggsign', 'whopay']
    )
    assert.deepEqual(COMMON.map(c => c.name).slice(0, 3), ['status', 'identity', 'connect'])
  })

  it('every command has a summary and examples of itself; names are unique within a group', () => {
    const all = [
      ...[...DAEMONS, ...SCHEMES].flatMap(g => g.commands.map(c => ({ full: `${g.name} ${c.name}`, c }))),
      ...COMMON.map(c => ({ full: c.name, c }))
    ]
    for (const g of [...DAEMONS, ...SCHEMES]) {
      assert.equal(new Set(g.commands.map(c => c.name)).size, g.commands.length, g.name)
    }
    for (const { full, c } of all) {
      assert.ok(c.summary.length > 10, full)
      assert.ok(c.examples.length > 0, `${full} has no example`)
      for (const e of c.examples) assert.ok(e.startsWith(`p2pay ${full}`), `${full}: example "${e}"`)
      assert.ok(c.spec != null || c.daemon != null || c.options != null, `${full} neither starts nor talks to a daemon`)
    }
  })

  it('p2pay --help lists the daemons, the schemes and the shared verbs; a group lists its commands', async () => {
    const top = (await run(process.execPath, [CLI, '--help'])).stdout
    for (const g of [...DAEMONS, ...SCHEMES]) assert.match(top, new RegExp(`\\n  ${g.name} `))
    for (const c of COMMON) assert.match(top, new RegExp(`\\n  ${c.name} `))
    const ppay = (await run(process.execPath, [CLI, 'ppay', '--help'])).stdout
    for (const c of SCHEMES[0].commands) assert.match(ppay, new RegExp(`\\n  ${c.name} `))
    await assert.rejects(run(process.execPath, [CLI, 'nope']), (e: any) => e.code === 2)
  })

  it('a client command refuses an unknown or missing option before it looks for a daemon', async () => {
    await assert.rejects(
      run(process.execPath, [CLI, 'ppay', 'pay', '--to', 'x', '--amount', '1', '--colour', 'red']),
      (e: any) => e.code === 2 && /unknown option --colour/.test(e.stderr)
    )
    await assert.rejects(
      run(process.execPath, [CLI, 'karma', 'transfer', '--to', 'x']),
      (e: any) => e.code === 2 && /--amount is required/.test(e.stderr)
    )
    await assert.rejects(
      run(process.execPath, [CLI, 'ppay', 'buy', '--count', 'ten', '--value', '1']),
      (e: any) => e.code === 2 && /--count must be an integer/.test(e.stderr)
    )
  })

  it('--allow-cheats and --diag from env or a config file: the node refuses to start, creates nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2pay-cli-flag-only-'))
    try {
      const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const start = ['node', 'start', '--broker', `/ip4/127.0.0.1/tcp/9/p2p/${id}`, '--api-port', '0', '--dht', 'false']
      const config = join(dir, 'config.json')
      const cases: Array<[string, string[], Record<string, string>]> = [
        ['allow-cheats', [], { P2PAY_ALLOW_CHEATS: '1' }],
        ['diag', [], { P2PAY_DIAG: 'true' }],
        ['allow-cheats', ['--allow-cheats'], { P2PAY_ALLOW_CHEATS: '1' }],
        ['allow-cheats', ['--config', config], {}],
        ['diag', [], { P2PAY_CONFIG: config }]
      ]
      for (const [i, [flag, extra, env]] of cases.entries()) {
        writeFileSync(config, JSON.stringify({ [flag]: true }))
        const data = join(dir, `n${i}`)
        // a node that did start would run until the timeout kills it
        await assert.rejects(
          run(process.execPath, [CLI, ...start, '--data-dir', data, ...extra], {
            env: { ...process.env, ...env },
            timeout: 90_000
          }),
          (e: any) =>
            e.code === 2 &&
            new RegExp(`error BAD_REQUEST: --${flag} is taken from the command line only`).test(e.stderr),
          `${flag} ${JSON.stringify(env)} ${extra.join(' ')}`
        )
        assert.equal(existsSync(data), false, 'the refused node created its data dir')
      }
      const help = (await run(process.execPath, [CLI, 'node', 'start', '--help'])).stdout
      assert.match(help, /--allow-cheats .*\[command line only\]/)
      assert.match(help, /--diag .*\[command line only\]/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
