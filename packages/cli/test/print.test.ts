// The CLI's output helpers: an exit waits for a pipe to take everything
// written (a child `node -e` writing 700,000 bytes and exiting at once), and
// the summary of long lists and strings.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { MAX_LIST, MAX_TEXT, summarise } from '../src/output.ts'

const OUTPUT = pathToFileURL(join(import.meta.dirname, '..', 'src', 'output.ts')).href
const BIG = 700_000

/** Runs `script` (an ES module importing print and exitFlushed) with stdout a pipe; `leave` stops reading early. */
async function child(script: string, leave = false): Promise<{ bytes: number; code: number | null }> {
  const code = `import { print, exitFlushed } from '${OUTPUT}'\n${script}`
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  let bytes = 0
  p.stdout.on('data', (c: Buffer) => {
    bytes += c.length
    if (leave) p.stdout.destroy()
  })
  return await new Promise(resolve => p.on('close', c => resolve({ bytes, code: c })))
}

describe('print and exitFlushed', () => {
  it('a record printed and exited at once arrives in full through a pipe', async () => {
    assert.deepEqual(await child(`await print(process.stdout, 'x'.repeat(${BIG}))\nawait exitFlushed(0)`), {
      bytes: BIG,
      code: 0
    })
  })

  it('exitFlushed waits for writes nobody awaited, on stdout and stderr, and exits with its code', async () => {
    const script = `process.stdout.write('y'.repeat(${BIG}))\nprocess.stderr.write('')\nawait exitFlushed(3)`
    assert.deepEqual(await child(script), { bytes: BIG, code: 3 })
  })

  it('a reader that leaves early does not keep the process from exiting', async () => {
    const r = await child(`await print(process.stdout, 'z'.repeat(${BIG}))\nawait exitFlushed(0)`, true)
    assert.equal(r.code, 0)
    assert.ok(r.bytes < BIG)
  })
})

describe('summarise', () => {
  it('a list of over MAX_LIST entries and a string of over MAX_TEXT characters become their length', () => {
    const list = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
    const v = {
      a: list(MAX_LIST),
      b: list(MAX_LIST + 1),
      c: 'c'.repeat(MAX_TEXT),
      d: 'd'.repeat(MAX_TEXT + 1),
      e: [{ f: [list(MAX_LIST + 5)], g: 1, h: null, i: false }]
    }
    const copy = structuredClone(v)
    assert.deepEqual(summarise(v), {
      a: list(MAX_LIST),
      b: `<${MAX_LIST + 1} items: --full lists them>`,
      c: 'c'.repeat(MAX_TEXT),
      d: `<${MAX_TEXT + 1} chars: --full prints it>`,
      e: [{ f: [`<${MAX_LIST + 5} items: --full lists them>`], g: 1, h: null, i: false }]
    })
    assert.deepEqual(v, copy, 'the answer itself is not changed')
    for (const x of [0, 'short', null, true, []]) assert.deepEqual(summarise(x), x)
  })
})
