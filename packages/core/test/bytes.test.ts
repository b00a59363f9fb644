// bytes.ts: canonical JSON, strict base64, identifiers, hashing helpers; errors.ts helpers.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  canonicalJson,
  fromB64,
  toB64,
  randomId,
  concat,
  bytesEqual,
  compareBytes,
  sha256,
  sha256Hex,
  toHex,
  utf8,
  fromUtf8
} from '../src/bytes.ts'
import { ErrorCode, P2payError, asError, isCode, fail } from '../src/errors.ts'

const isBadRequest = (e: unknown): boolean => e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST

describe('canonicalJson', () => {
  it('sorts keys at every level and matches JSON.parse round trip', () => {
    assert.equal(
      canonicalJson({ b: 1, a: 2, c: { z: true, y: null, x: 'é"\n' } }),
      '{"a":2,"b":1,"c":{"x":"é\\"\\n","y":null,"z":true}}'
    )
    // same object, different insertion order: same text
    assert.equal(canonicalJson({ x: 1, y: [1, { q: 1, p: 2 }] }), canonicalJson({ y: [1, { p: 2, q: 1 }], x: 1 }))
    const v = { m: [3, 2, 1], n: { b: 'x', a: [] }, o: false, p: -7 }
    assert.deepEqual(JSON.parse(canonicalJson(v)), v)
  })

  it('keeps array order and encodes scalars', () => {
    assert.equal(canonicalJson([3, 1, 2]), '[3,1,2]')
    assert.equal(canonicalJson(null), 'null')
    assert.equal(canonicalJson(true), 'true')
    assert.equal(canonicalJson(false), 'false')
    assert.equal(canonicalJson(0), '0')
    assert.equal(canonicalJson(-0), '0')
    assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), '9007199254740991')
    assert.equal(canonicalJson(''), '""')
    assert.equal(canonicalJson({}), '{}')
  })

  it('drops undefined-valued keys, also nested', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
    assert.equal(canonicalJson({ o: { x: undefined, y: { z: undefined } } }), '{"o":{"y":{}}}')
    assert.equal(canonicalJson({ a: undefined }), '{}')
  })

  it('rejects floats, non-safe integers, NaN, Infinity, functions, bigint, symbol', () => {
    for (const bad of [1.5, -0.1, Number.MAX_SAFE_INTEGER + 1, -(2 ** 60), NaN, Infinity, -Infinity]) {
      assert.throws(() => canonicalJson(bad), TypeError, `number ${bad}`)
      assert.throws(() => canonicalJson({ deep: [{ n: bad }] }), TypeError, `nested ${bad}`)
    }
    assert.throws(() => canonicalJson(() => 1), TypeError)
    assert.throws(() => canonicalJson({ f() {} }), TypeError)
    assert.throws(() => canonicalJson(10n), TypeError)
    assert.throws(() => canonicalJson(Symbol('s')), TypeError)
  })
})

describe('strict base64', () => {
  it('round trips every length 0..64 and random bytes', () => {
    for (let n = 0; n <= 64; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff)
      const s = toB64(b)
      assert.equal(s, Buffer.from(b).toString('base64'))
      assert.deepEqual(fromB64(s), b)
    }
    const r = new Uint8Array(Buffer.from(randomId(100), 'hex'))
    assert.deepEqual(fromB64(toB64(r)), r)
    assert.ok(fromB64('') instanceof Uint8Array)
    assert.equal(fromB64('').byteLength, 0)
  })

  it('toB64 honours the view offset of a subarray', () => {
    const big = new Uint8Array([1, 2, 3, 4, 5, 6])
    assert.equal(toB64(big.subarray(2, 5)), Buffer.from([3, 4, 5]).toString('base64'))
    assert.equal(toHex(big.subarray(4)), '0506')
  })

  it('rejects junk, url-safe alphabet, whitespace, missing padding, text after padding', () => {
    const bad = [
      'AQID!',
      'AQ$D',
      'A',
      'AQ',
      'AQI', // junk and missing padding
      'AQ=',
      'AQ===',
      'A===',
      '====',
      '=', // wrong padding
      'AQ==AQ==',
      'AQ==x',
      'AQI=AAAA',
      'AQI= ', // text after padding
      ' AQID',
      'AQ ID',
      'AQID\n', // whitespace
      '-_8A',
      'AQ-_' // url-safe alphabet
    ]
    for (const s of bad) assert.throws(() => fromB64(s), isBadRequest, JSON.stringify(s))
    // Buffer.from alone would have accepted these
    assert.equal(Buffer.from('AQ==AQ==', 'base64').byteLength, 1)
  })

  it('accepts exactly the strings of the strict base64 pattern that spell their bytes canonically', () => {
    const strict = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
    const alphabet = 'AQgw+/=-_ \n!'
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const len = i % 13
      let s = ''
      for (let j = 0; j < len; j++) s += alphabet[(i * 7919 + j * 104729 + ((i >> 3) ^ j) * 31) % alphabet.length]
      const canonical = strict.test(s) && Buffer.from(s, 'base64').toString('base64') === s
      let ok = true
      try {
        fromB64(s)
      } catch (err) {
        assert.ok(isBadRequest(err), JSON.stringify(s))
        ok = false
      }
      assert.equal(ok, canonical, JSON.stringify(s))
      if (ok) accepted++
    }
    assert.ok(accepted > 100, `only ${accepted} canonical strings drawn`)
    for (const notString of [42, null, ['AQID'], { toString: () => 'AQID' }])
      assert.throws(() => fromB64(notString as any), isBadRequest)
  })

  // fromB64 promises "one spelling per byte string", but its regex does not check
  // that the unused low bits of the last character are zero: 'AB==' and 'AA==' both decode to [0].
  it('accepts only the canonical spelling (unused trailing bits must be zero)', () => {
    assert.throws(() => fromB64('AB=='), isBadRequest)
    assert.throws(() => fromB64('AQJ='), isBadRequest)
  })
})

describe('randomId and hashes', () => {
  it('randomId is hex of the requested byte length and unique', () => {
    assert.match(randomId(), /^[0-9a-f]{32}$/)
    assert.match(randomId(8), /^[0-9a-f]{16}$/)
    assert.match(randomId(32), /^[0-9a-f]{64}$/)
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) seen.add(randomId())
    assert.equal(seen.size, 2000)
  })

  it('sha256 / sha256Hex agree with node:crypto; concat joins in order', () => {
    const data = utf8('abc')
    const want = createHash('sha256').update('abc').digest('hex')
    assert.equal(want, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.equal(sha256Hex(data), want)
    assert.equal(toHex(sha256(data)), want)
    assert.deepEqual(
      concat([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]),
      new Uint8Array([1, 2, 3])
    )
    assert.equal(concat([]).byteLength, 0)
  })

  it('bytesEqual and compareBytes: same bytes whatever the view, byte order for sort', () => {
    const big = new Uint8Array([9, 1, 2, 3])
    assert.equal(bytesEqual(big.subarray(1), new Uint8Array([1, 2, 3])), true)
    assert.equal(bytesEqual(big.subarray(1), new Uint8Array([1, 2])), false)
    assert.equal(bytesEqual(new Uint8Array([1, 2, 4]), new Uint8Array([1, 2, 3])), false)
    const sorted = [new Uint8Array([2]), new Uint8Array([1, 5]), new Uint8Array([1])].sort(compareBytes)
    assert.deepEqual(
      sorted.map(b => [...b]),
      [[1], [1, 5], [2]]
    )
  })

  it('utf8 and hex/base64 agree with Buffer on every view', () => {
    const s = 'p2pay/ppay/assign/v1 é ✓'
    assert.deepEqual([...utf8(s)], [...Buffer.from(s, 'utf8')])
    assert.ok(utf8(s) instanceof Uint8Array)
    const b = new Uint8Array(Buffer.from(randomId(40), 'hex')).subarray(3, 37)
    assert.equal(toHex(b), Buffer.from(b).toString('hex'))
    assert.equal(toB64(b), Buffer.from(b).toString('base64'))
  })

  it('fromUtf8 is fatal on invalid UTF-8', () => {
    assert.equal(fromUtf8(utf8('héllo')), 'héllo')
    assert.throws(() => fromUtf8(new Uint8Array([0xff, 0xfe])), TypeError)
  })
})

describe('errors', () => {
  it('P2payError carries code and details; toJSON omits absent details; isCode/asError', () => {
    const e = new P2payError(ErrorCode.NOT_FOUND, 'nope', { k: 1 })
    assert.deepEqual(e.toJSON(), { code: 'NOT_FOUND', message: 'nope', details: { k: 1 } })
    assert.deepEqual(new P2payError(ErrorCode.FRAUD, 'x').toJSON(), { code: 'FRAUD', message: 'x' })
    assert.equal(isCode(e, ErrorCode.NOT_FOUND), true)
    assert.equal(isCode(e, ErrorCode.FRAUD), false)
    assert.equal(isCode(new Error('NOT_FOUND'), ErrorCode.NOT_FOUND), false)
    assert.throws(
      () => fail(ErrorCode.REPLAY, 'again'),
      (err: unknown) => isCode(err, ErrorCode.REPLAY)
    )
    assert.equal(asError(e), e)
    assert.equal(asError('boom').message, 'boom')
    const ev = new Event('error') as Event & { error?: unknown }
    ev.error = new Error('inner')
    assert.equal(asError(ev).message, 'inner')
    assert.equal(asError(new Event('reset')).message, 'stream event: reset')
  })
})
