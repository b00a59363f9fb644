// config.ts: argv parsing and defaults < config file < env (P2PAY_*) < flags.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgv, resolveConfig, specHelp, type Spec } from '../src/daemon/config.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { TEST_ONLY_OPTIONS } from '../src/daemon/daemon.ts'

const root = mkdtempSync(join(tmpdir(), 'p2pay-core-config-'))
after(() => rmSync(root, { recursive: true, force: true }))

const badRequest =
  (re?: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof P2payError, `expected P2payError BAD_REQUEST, got ${String(e)}`)
    assert.equal(e.code, ErrorCode.BAD_REQUEST)
    if (re != null) assert.match(e.message, re)
    return true
  }

const spec: Spec = {
  'data-dir': { type: 'string', default: './data', help: 'data directory' },
  'api-port': { type: 'number', default: 0, help: 'control API port' },
  listen: { type: 'list', default: ['/ip4/127.0.0.1/tcp/0'], help: 'listen addrs' },
  dht: { type: 'boolean', default: true, help: 'run the DHT' },
  name: { type: 'string', help: 'no default' }
}
interface Cfg {
  'data-dir': string
  'api-port': number
  listen: string[]
  dht: boolean
  name?: string
}

describe('parseArgv', () => {
  it('--a b, --a=b, bare flags, positionals, --', () => {
    assert.deepEqual(parseArgv(['broker', 'start', '--data-dir', './x', '--api-port=8080', '--dht', '--verbose']), {
      flags: { 'data-dir': './x', 'api-port': '8080', dht: true, verbose: true },
      positional: ['broker', 'start']
    })
    assert.deepEqual(parseArgv(['--flag', '--other', 'v', 'pos']), {
      flags: { flag: true, other: 'v' },
      positional: ['pos']
    })
    assert.deepEqual(parseArgv(['a', '--x=1=2', '--empty=', '--', '--not-a-flag', 'b']), {
      flags: { x: '1=2', empty: '' },
      positional: ['a', '--not-a-flag', 'b']
    })
    assert.deepEqual(parseArgv(['--n', '-5']), { flags: { n: '-5' }, positional: [] }, 'a single dash value is a value')
    assert.deepEqual(parseArgv(['--bare', '--']), { flags: { bare: true }, positional: [] })
    assert.deepEqual(parseArgv([]), { flags: {}, positional: [] })
    assert.deepEqual(parseArgv(['--a', 'x', '--a', 'y']), { flags: { a: 'y' }, positional: [] }, 'last one wins')
  })
})

describe('resolveConfig', () => {
  it('defaults when nothing is given', () => {
    const c = resolveConfig<Cfg>(spec, {}, {})
    assert.deepEqual(c, {
      'data-dir': './data',
      'api-port': 0,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      dht: true,
      name: undefined
    })
  })

  it('precedence: flag > env (P2PAY_*) > config file > default', () => {
    const file = join(root, 'p.json')
    writeFileSync(
      file,
      JSON.stringify({
        'data-dir': '/file',
        'api-port': 1111,
        listen: ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/2'],
        dht: false,
        name: 'from-file'
      })
    )
    const env = { P2PAY_API_PORT: '2222', P2PAY_DATA_DIR: '/env', P2PAY_CONFIG: file }
    const c = resolveConfig<Cfg>(spec, { 'data-dir': '/flag' }, env)
    assert.equal(c['data-dir'], '/flag', 'flag beats env and file')
    assert.equal(c['api-port'], 2222, 'env beats file (and is coerced to a number)')
    assert.deepEqual(c.listen, ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/2'], 'file beats default')
    assert.equal(c.dht, false)
    assert.equal(c.name, 'from-file')
    // --config beats P2PAY_CONFIG
    const other = join(root, 'q.json')
    writeFileSync(other, JSON.stringify({ name: 'q' }))
    assert.equal(resolveConfig<Cfg>(spec, { config: other }, env).name, 'q')
    // flag beats env for every type
    const f = resolveConfig<Cfg>(
      spec,
      { 'api-port': '3333', listen: '/a, /b,,', dht: 'false' },
      { P2PAY_API_PORT: '2222', P2PAY_LISTEN: '/env', P2PAY_DHT: 'true' }
    )
    assert.equal(f['api-port'], 3333)
    assert.deepEqual(f.listen, ['/a', '/b'])
    assert.equal(f.dht, false)
  })

  it('coerces types: booleans, numbers, lists', () => {
    for (const [v, want] of [
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['no', false]
    ] as const) {
      assert.equal(resolveConfig<Cfg>(spec, { dht: v }, {}).dht, want, v)
    }
    assert.equal(resolveConfig<Cfg>(spec, { dht: true }, {}).dht, true, 'bare flag')
    assert.equal(resolveConfig<Cfg>(spec, {}, { P2PAY_DHT: 'no' }).dht, false)
    assert.equal(resolveConfig<Cfg>(spec, { 'api-port': '8080' }, {})['api-port'], 8080)
    assert.equal(resolveConfig<Cfg>(spec, {}, { P2PAY_API_PORT: '9' })['api-port'], 9)
    assert.equal(resolveConfig<Cfg>(spec, {}, { P2PAY_LISTEN: '/x,/y' }).listen.length, 2)
  })

  it('a number option that is not a number is BAD_REQUEST', () => {
    for (const v of ['abc', '12abc', 'NaN', 'Infinity']) {
      assert.throws(() => resolveConfig(spec, { 'api-port': v }, {}), badRequest(/api-port/), v)
    }
    assert.throws(() => resolveConfig(spec, {}, { P2PAY_API_PORT: 'eighty' }), badRequest())
    const file = join(root, 'badnum.json')
    writeFileSync(file, JSON.stringify({ 'api-port': 'x' }))
    assert.throws(() => resolveConfig(spec, { config: file }, {}), badRequest())
  })

  // coerce() checks `v === true` for strings but not for numbers or lists: `--api-port`
  // with no value becomes Number(true) = 1, `--api-port=` becomes Number('') = 0, and
  // `--listen` with no value becomes ['true'].
  it('a number or list option without a value is BAD_REQUEST', () => {
    assert.throws(() => resolveConfig(spec, { 'api-port': true }, {}), badRequest())
    assert.throws(() => resolveConfig(spec, { 'api-port': '' }, {}), badRequest())
    assert.throws(() => resolveConfig(spec, { listen: true }, {}), badRequest())
  })

  it('a string option without a value is BAD_REQUEST', () => {
    assert.throws(() => resolveConfig(spec, { 'data-dir': true }, {}), badRequest(/data-dir needs a value/))
  })

  it('an unknown option is BAD_REQUEST; --config and --help are allowed', () => {
    assert.throws(() => resolveConfig(spec, { 'no-such': 'x' }, {}), badRequest(/unknown option --no-such/))
    assert.throws(() => resolveConfig(spec, { __proto__x: 'x' } as Record<string, string>, {}), badRequest())
    assert.throws(
      () => resolveConfig(spec, JSON.parse('{"toString":"x"}') as Record<string, string>, {}),
      badRequest(/toString/)
    )
    assert.doesNotThrow(() => resolveConfig(spec, { help: true }, {}))
  })

  it('a missing config file is BAD_REQUEST, from --config or P2PAY_CONFIG', () => {
    const missing = join(root, 'nope.json')
    assert.throws(() => resolveConfig(spec, { config: missing }, {}), badRequest(/config file not found/))
    assert.throws(() => resolveConfig(spec, {}, { P2PAY_CONFIG: missing }), badRequest(/config file not found/))
  })

  // `--config` with no value is `true`, which the `typeof file === 'string'` test skips:
  // the run silently goes on with defaults instead of the config the user asked for.
  it('a bare --config (no file name) is BAD_REQUEST', () => {
    assert.throws(() => resolveConfig(spec, { config: true }, {}), badRequest())
  })

  it('specHelp lists every option with its default and env name', () => {
    const h = specHelp(spec)
    assert.match(h, /--api-port\s+control API port \(default: 0\)\s+\[env P2PAY_API_PORT\]/)
    assert.match(h, /--data-dir .*\[env P2PAY_DATA_DIR\]/)
    assert.match(h, /--name\s+no default\s+\[env P2PAY_NAME\]/)
    assert.equal(h.split('\n').length, Object.keys(spec).length)
  })

  it('specHelp says which options are taken from the command line only', () => {
    const h = specHelp({ ...spec, ...TEST_ONLY_OPTIONS })
    assert.match(h, /--allow-cheats .*\(default: false\)\s+\[command line only\]/)
    assert.match(h, /--diag .*\(default: false\)\s+\[command line only\]/)
    assert.doesNotMatch(h, /P2PAY_ALLOW_CHEATS|P2PAY_DIAG/)
  })
})

describe('test-only surfaces (--allow-cheats, --diag): by an explicit flag only', () => {
  const full: Spec = { ...spec, ...TEST_ONLY_OPTIONS }
  type Full = Cfg & { 'allow-cheats': boolean; diag: boolean }

  it('off by default; on by the flag', () => {
    const off = resolveConfig<Full>(full, {}, {})
    assert.deepEqual([off['allow-cheats'], off.diag], [false, false])
    const on = resolveConfig<Full>(full, { 'allow-cheats': true, diag: true }, {})
    assert.deepEqual([on['allow-cheats'], on.diag], [true, true])
  })

  it('the environment cannot turn them on (or set them at all): BAD_REQUEST, and nothing else read', () => {
    for (const [name, flag] of [
      ['P2PAY_ALLOW_CHEATS', 'allow-cheats'],
      ['P2PAY_DIAG', 'diag']
    ]) {
      for (const v of ['1', 'true', 'false']) {
        const env = Object.freeze({ [name]: v, P2PAY_API_PORT: '7' })
        assert.throws(() => resolveConfig(full, {}, env), badRequest(new RegExp(`--${flag} .*command line`)), v)
        // given the flag as well, the environment is still refused
        assert.throws(() => resolveConfig(full, { [flag]: true }, env), badRequest(), v)
        assert.deepEqual(env, { [name]: v, P2PAY_API_PORT: '7' })
      }
    }
  })

  it('a config file cannot turn them on either', () => {
    for (const flag of ['allow-cheats', 'diag']) {
      const file = join(root, `${flag}.json`)
      writeFileSync(file, JSON.stringify({ [flag]: true, 'api-port': 7 }))
      assert.throws(() => resolveConfig(full, { config: file }, {}), badRequest(new RegExp(`--${flag} .*command line`)))
      assert.throws(() => resolveConfig(full, {}, { P2PAY_CONFIG: file }), badRequest())
    }
  })
})
