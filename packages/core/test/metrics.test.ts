// metrics.ts: counters by kind, get() sums, Prometheus text.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_SERIES, Metrics } from '../src/metrics.ts'

describe('Metrics', () => {
  it('a peer naming a new kind in every request grows no more than MAX_SERIES series; the rest count as other', () => {
    const m = new Metrics()
    m.messageSent('buy')
    for (let i = 0; i < MAX_SERIES + 1000; i++) m.messageSent(`k${i}`)
    const series = Object.keys(m.snapshot())
    assert.equal(series.length, MAX_SERIES + 1)
    assert.ok(m.get('messages_sent_total', 'other') >= 1000)
    // kinds already counted keep their own series
    m.messageSent('buy')
    assert.equal(m.get('messages_sent_total', 'buy'), 2)
  })

  it('counts per kind and sums across kinds', () => {
    const m = new Metrics()
    m.messageSent('buy')
    m.messageSent('buy', 3)
    m.messageSent('cash')
    m.signed('buy')
    m.verified('pay')
    assert.equal(m.get('messages_sent_total', 'buy'), 4)
    assert.equal(m.get('messages_sent_total', 'cash'), 1)
    assert.equal(m.get('messages_sent_total'), 5)
    assert.equal(m.get('messages_sent_total', 'nope'), 0)
    assert.equal(m.get('signatures_generated_total', 'buy'), 1)
    assert.equal(m.get('signatures_verified_total', 'pay'), 1)
    // a kind that is a prefix or suffix of another is not mixed in
    m.messageSent('pre-buy')
    assert.equal(m.get('messages_sent_total', 'buy'), 4)
    assert.deepEqual(m.snapshot(), {
      'messages_sent_total{kind="buy"}': 4,
      'messages_sent_total{kind="cash"}': 1,
      'messages_sent_total{kind="pre-buy"}': 1,
      'signatures_generated_total{kind="buy"}': 1,
      'signatures_verified_total{kind="pay"}': 1
    })
  })

  it('renders Prometheus text with HELP/TYPE once per name, sorted, label values sanitised', () => {
    const m = new Metrics('px')
    m.messageSent('b')
    m.messageSent('a')
    m.inc('plain_total')
    m.inc('odd_total', { kind: 'x"y\\z\nw' })
    let g = 7
    m.gauge('queue_depth', () => g, 'Items queued')
    g = 9
    const text = m.prometheus()
    const lines = text.trimEnd().split('\n')
    assert.ok(text.endsWith('\n'))
    assert.equal(lines.filter(l => l === '# TYPE px_messages_sent_total counter').length, 1)
    assert.ok(lines.includes('# HELP px_messages_sent_total Protocol messages sent, by transaction kind'))
    assert.ok(lines.indexOf('px_messages_sent_total{kind="a"} 1') < lines.indexOf('px_messages_sent_total{kind="b"} 1'))
    assert.ok(lines.includes('px_plain_total 1'))
    assert.ok(lines.includes('px_odd_total{kind="x_y_z_w"} 1'))
    assert.ok(lines.includes('# HELP px_queue_depth Items queued'))
    assert.ok(lines.includes('# TYPE px_queue_depth gauge'))
    assert.ok(lines.includes('px_queue_depth 9'), 'gauges are read at render time')
  })
})
