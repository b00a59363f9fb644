// The CLI's output for a person, piece by piece: amounts with their unit,
// times relative to now, sizes, values cut in the middle, aligned tables,
// the generic rendering of an answer, the one-line error with its hint, and
// the bash completion script (run through bash itself).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { P2payError } from '@p2pay/core'
import { amount, bytes, duration, relative, shorten, words } from '../src/render/format.ts'
import { pairs, table } from '../src/render/table.ts'
import { MAX_ROWS, render } from '../src/render/generic.ts'
import { HINTS, errorLine } from '../src/hints.ts'
import { bashCompletion } from '../src/completion.ts'
import { COMMON, DAEMONS, SCHEMES } from '../src/cmds/index.ts'

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const o = { now: NOW, unit: 'units', full: false }

describe('values', () => {
  it('amounts carry their unit', () => {
    assert.equal(amount(25), '25 units')
    assert.equal(amount(1), '1 unit')
    assert.equal(amount(1250, 'karma'), '1,250 karma')
    assert.equal(amount(0), '0 units')
  })

  it('times read relative to now, durations in their largest unit', () => {
    assert.equal(relative(NOW + 4 * 60_000 + 59_000, NOW), 'in 4 min')
    assert.equal(relative(NOW - 2000, NOW), '2 s ago')
    assert.equal(relative(NOW - 3 * 3600_000, NOW), '3 h ago')
    assert.equal(relative(NOW + 2 * 86_400_000, NOW), 'in 2 d')
    assert.equal(relative(NOW + 400, NOW), 'now')
    assert.equal(duration(850), '850 ms')
    assert.equal(duration(12_500), '12 s')
  })

  it('sizes in binary units; long strings cut in the middle; names as words', () => {
    assert.equal(bytes(512), '512 B')
    assert.equal(bytes(1536), '1.5 KiB')
    assert.equal(bytes(300 * 1024 * 1024), '300.0 MiB')
    const id = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
    assert.equal(shorten(id, 24), '12D3KooWRBy97UB9…wrRJsNK')
    assert.equal(shorten(id, 24).length, 24)
    assert.equal(shorten('short', 24), 'short')
    assert.equal(words('toppedUp'), 'topped up')
    assert.equal(words('peer_id'), 'peer id')
  })
})

describe('tables', () => {
  it('columns padded to their widest cell, numbers aligned right, headers in capitals', () => {
    assert.deepEqual(
      table(
        ['coin', 'value'],
        [
          ['ab', '5 units'],
          ['abcdef', '10 units']
        ]
      ),
      ['COIN       VALUE', 'ab       5 units', 'abcdef  10 units']
    )
    assert.deepEqual(
      pairs([
        ['peer', ['x']],
        ['addresses', ['a', 'b']]
      ]),
      ['peer       x', 'addresses  a', '           b']
    )
  })
})

describe('generic rendering', () => {
  it('an object is a key/value block; its list of records a table; a nested object its own block', () => {
    const text = render(
      {
        peerId: 'p1',
        toppedUp: 300,
        holds: true,
        startedAt: NOW - 65_000,
        intervalMs: 30_000,
        size: 2048,
        accounts: [
          { account: 'a', balance: 200 },
          { account: 'bb', balance: 100 }
        ],
        karma: { epoch: 3, pending: [] }
      },
      o
    )
    assert.equal(
      text,
      [
        'peer id     p1',
        'topped up   300 units',
        'holds       yes',
        'started at  1 min ago',
        'interval    30 s',
        'size        2.0 KiB',
        '',
        'accounts (2):',
        '  ACCOUNT    BALANCE',
        '  a        200 units',
        '  bb       100 units',
        '',
        'karma:',
        '  epoch    3',
        '  pending  none'
      ].join('\n')
    )
  })

  it('a long table shows its first rows and says how many more; --full shows all', () => {
    const rows = Array.from({ length: MAX_ROWS + 7 }, (_, i) => ({ n: i }))
    const cut = render(rows, o).split('\n')
    assert.equal(cut.length, 1 + MAX_ROWS + 1)
    assert.equal(cut.at(-1), '… 7 more (--full lists them all)')
    assert.equal(render(rows, { ...o, full: true }).split('\n').length, 1 + MAX_ROWS + 7)
  })

  it('an empty answer and plain values', () => {
    assert.equal(render({}, o), 'done')
    assert.equal(render([], o), 'none')
    assert.equal(render(['x', 'y'], o), 'x\ny')
    assert.equal(render({ ms: 3561.8, created: NOW - 5000 }, o), 'took     3.6 s\ncreated  5 s ago')
    // a payment request or an address on its own line stays whole (to be copied); a signature is cut
    const request = `p2pay:${'A'.repeat(300)}`
    const sig = 'Q'.repeat(88)
    assert.equal(render({ request, sig }, o), `request  ${request}\nsig      ${shorten(sig, 32)}`)
  })
})

describe('error lines', () => {
  it('one line: the code, the message with its whitespace folded, what to do', () => {
    const line = errorLine(new P2payError('INSUFFICIENT_FUNDS', 'balance 3,\nasked 10'))
    assert.equal(line, `error INSUFFICIENT_FUNDS: balance 3, asked 10 (${HINTS.INSUFFICIENT_FUNDS})`)
    assert.match(line, /p2pay broker topup/)
    assert.match(
      errorLine(new P2payError('BAD_REQUEST', '--to is required'), { command: 'ppay pay' }),
      /see p2pay ppay pay --help/
    )
    assert.equal(errorLine(new P2payError('SOMETHING_NEW', 'x')), 'error SOMETHING_NEW: x')
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use'), { code: 'EADDRINUSE' })
    assert.match(errorLine(inUse), /^error EADDRINUSE: .* \(the port is taken/)
    assert.match(errorLine(new Error('boom')), /^error INTERNAL: boom \(/)
  })

  it('the common codes each have a hint', () => {
    const codes = ['UNAUTHORIZED', 'UNREACHABLE', 'NOT_FOUND', 'BAD_REQUEST', 'INSUFFICIENT_FUNDS', 'TIMEOUT', 'BUSY']
    for (const c of [...codes, 'ABORTED', 'EXPIRED', 'FRAUD', 'NO_EXACT_AMOUNT', 'NO_MAJORITY', 'CLOCK_SKEW'])
      assert.ok((HINTS[c] ?? '').length > 10, c)
  })
})

describe('bash completion', () => {
  it('completes groups, their commands and a command options, in bash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2pay-completion-'))
    try {
      const script = join(dir, 'p2pay.bash')
      writeFileSync(script, bashCompletion([...DAEMONS, ...SCHEMES], COMMON))
      const complete = (...line: string[]): string[] =>
        execFileSync(
          'bash',
          [
            '-c',
            `source "$0"; COMP_WORDS=(${line.map(w => `'${w}'`).join(' ')}); ` +
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _p2pay; echo "${COMPREPLY[@]}"',
            script
          ],
          { encoding: 'utf8' }
        )
          .trim()
          .split(' ')
      assert.deepEqual(complete('p2pay', 'pp'), ['ppay'])
      assert.deepEqual(complete('p2pay', 'ppay', 'c'), ['cash', 'coins'])
      assert.deepEqual(complete('p2pay', 'ppay', 'pay', '--am'), ['--amount'])
      assert.ok(complete('p2pay', 'node', 'start', '--').includes('--broker'))
      assert.deepEqual(complete('p2pay', 'status', '--data'), ['--data-dir'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
