// The dashboard in a real browser: a broker and two nodes as processes, a PPay
// payment, and Debian's chromium driven through playwright-core. Without the
// token the page shows the daemon's refusal and no data; with it, the node's
// peer id, the payment and the Table I counters, updated live by a second
// payment; the broker's page shows its audit holding. Screenshots go to
// test-output/ for review.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Swarm, CLI, ROOT, type Daemon } from './helpers/swarm.ts'
import { rawHttp } from './helpers/raw-http.ts'

const run = promisify(execFile)
const CHROMIUM = '/usr/bin/chromium'
const OUT = join(ROOT, 'test-output')
const T = { timeout: 180_000 }

const swarm = new Swarm('dashboard')
let broker: Daemon, A: Daemon, B: Daemon
let browser: Browser

const tokenOf = (d: Daemon): string => readFileSync(join(d.dataDir, 'api.token'), 'utf8').trim()
const pageUrl = (d: Daemon): string => `http://127.0.0.1:${d.apiPort}/dashboard/`

/** `p2pay dashboard` for a daemon: the URL it prints whole (--full), never opening a browser here (--no-open) */
async function dashboardUrl(d: Daemon): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [CLI, 'dashboard', '--data-dir', d.dataDir, '--daemon', d.kind, '--no-open', '--full'],
    { timeout: 60_000 }
  )
  const url = /http:\/\/\S+#token=[0-9a-f]+/.exec(stdout)?.[0]
  assert.ok(url != null, `p2pay dashboard printed no URL with the token: ${stdout}`)
  return url
}

/** Polls the page until `fn` (run in the page) gives a truthy value; that value. */
async function seen<T>(page: Page, what: string, fn: () => T, timeoutMs = 30_000): Promise<T> {
  const handle = await page.waitForFunction(fn, undefined, { timeout: timeoutMs, polling: 250 }).catch(err => {
    throw new Error(`the page never showed ${what}: ${err.message}`)
  })
  return (await handle.jsonValue()) as T
}

/** one Table I counter of one kind, from the daemon's own /metrics */
async function counter(d: Daemon, name: string, kind: string): Promise<number> {
  const text: string = await d.api('GET', '/metrics')
  const m = new RegExp(`^p2pay_${name}\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)
  return Number(m?.[1] ?? 0)
}

/** errors the page's scripts threw and what the browser refused under the CSP, per page */
const troubles = new Map<Page, string[]>()

async function watched(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const seenHere: string[] = []
  troubles.set(page, seenHere)
  page.on('pageerror', err => seenHere.push(`script error: ${err.message}`))
  page.on('console', m => {
    if (/Content Security Policy/i.test(m.text())) seenHere.push(`CSP: ${m.text()}`)
  })
  return page
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true })
  const path = join(OUT, name)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot: ${path}`)
}

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does)`)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  broker = await swarm.startBroker()
  ;[A, B] = await swarm.startNodes(2)
  await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 100 })
  await A.api('POST', '/v1/ppay/buy', { count: 6, value: 5 })
  await A.api('POST', '/v1/ppay/pay', { to: B.peerId, amount: 10 })
})
after(async () => {
  await browser?.close()
  await swarm.stopAll()
})

test('the page loads without the token, under a CSP; no other path is served without it', T, async () => {
  const port = A.apiPort
  const root = await rawHttp(port, { method: 'GET', path: '/' })
  assert.ok(!('error' in root) && root.status === 302, JSON.stringify(root))
  for (const [path, type] of [
    ['/dashboard/', 'text/html'],
    ['/dashboard/app.js', 'text/javascript'],
    ['/dashboard/style.css', 'text/css']
  ]) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    assert.equal(res.status, 200, path)
    assert.ok(res.headers.get('content-type')?.startsWith(type), `${path}: ${res.headers.get('content-type')}`)
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    assert.doesNotMatch(await res.text(), new RegExp(A.peerId), 'the page holds no data')
  }
  // names outside the page's files: no file, or the token check
  for (const path of ['/dashboard/../api.token', '/dashboard/%2e%2e/api.token', '/dashboard/nope.js', '/api.token']) {
    const res = await rawHttp(port, { method: 'GET', path })
    assert.ok(!('error' in res) && [401, 404].includes(res.status), `${path}: ${JSON.stringify(res)}`)
    assert.ok(!('error' in res) && !res.body.includes(tokenOf(A)), path)
  }
  for (const path of ['/v1/status', '/metrics']) {
    const res = await rawHttp(port, { method: 'GET', path })
    assert.ok(!('error' in res) && res.status === 401, `${path} needs the token`)
  }
})

test('without the token, or with a wrong one, the page shows the refusal and no data', T, async () => {
  const page = await watched()
  try {
    for (const url of [pageUrl(A), `${pageUrl(A)}#token=${'0'.repeat(64)}`]) {
      await page.goto(url)
      await seen(page, 'the refusal', () => document.getElementById('refused')?.hidden === false)
      assert.match((await page.textContent('#refused')) ?? '', /Refused/)
      assert.equal(await page.locator('#panels section').count(), 0)
      assert.doesNotMatch((await page.textContent('body')) ?? '', new RegExp(A.peerId))
      assert.equal(await page.isVisible('#token-form'), true, 'it asks for the token')
    }
    assert.deepEqual(troubles.get(page), [])
  } finally {
    await page.close()
  }
})

test("the node's page: its peer id, the payment, the counters, live through a second payment", T, async () => {
  const page = await watched()
  try {
    await page.goto(await dashboardUrl(A))
    await seen(page, 'the peer id', () => document.getElementById('peer-id')?.textContent)
    assert.equal(await page.textContent('#peer-id'), A.peerId)
    assert.doesNotMatch(page.url(), /token/, 'the token leaves the address bar')
    await page.waitForSelector(`#peers tr[data-peer="${broker.peerId}"]`)

    const paidToB = `#ppay-coins tr[data-peer="${B.peerId}"] td[data-col="value"]`
    await page.waitForSelector(paidToB)
    assert.equal(await page.textContent(paidToB), '10')
    const sent = '#counters tr[data-kind="pay"] td[data-col="messages_sent_total"]'
    await page.waitForSelector(sent)
    assert.equal(Number(await page.textContent(sent)), await counter(A, 'messages_sent_total', 'pay'))
    const sentBefore = Number(await page.textContent(sent))

    // a second payment while the page is open: the page follows without a reload
    await A.api('POST', '/v1/ppay/pay', { to: B.peerId, amount: 5 })
    const total = await seen(page, 'the second payment', () => {
      const cell = document.querySelector('#ppay-coins tr[data-peer] td[data-col="value"]')
      return cell?.textContent === '15' ? cell.textContent : undefined
    })
    assert.equal(total, '15')
    const after = await counter(A, 'messages_sent_total', 'pay')
    assert.ok(after > sentBefore, 'the payment sent pay messages')
    await seen(page, 'the counters moving', () => {
      const cell = document.querySelector('#counters tr[data-kind="pay"] td[data-col="messages_sent_total"]')
      return Number(cell?.textContent) > 0 && cell?.textContent
    })
    await page.waitForFunction(
      ([sel, n]) => document.querySelector(sel as string)?.textContent === String(n),
      [sent, after] as const,
      { timeout: 30_000, polling: 250 }
    )
    // the payments journal, where the daemon keeps one
    if ((await A.api('GET', '/v1/routes')).routes.includes('GET /v1/payments')) {
      await page.waitForSelector('#payments td[data-col="amount"]')
      const amounts = await page.locator('#payments td[data-col="amount"]').allTextContents()
      assert.ok(amounts.includes('10') && amounts.includes('5'), `payments shown: ${amounts.join(', ')}`)
    }
    await screenshot(page, 'dashboard-node.png')
    assert.deepEqual(troubles.get(page), [])
  } finally {
    await page.close()
  }
})

test("the broker's page: the audit holds, the accounts", T, async () => {
  const page = await watched()
  try {
    await page.goto(await dashboardUrl(broker))
    await seen(page, 'the audit', () => document.getElementById('audit-holds')?.dataset.holds)
    assert.equal(await page.getAttribute('#audit-holds', 'data-holds'), 'true')
    assert.equal(await page.textContent('#audit-holds'), 'conservation holds')
    assert.equal((await broker.api('GET', '/v1/audit')).holds, true)
    assert.equal(await page.textContent('#peer-id'), broker.peerId)
    assert.equal(await page.locator('#ppay-coins').count(), 0, 'no wallet panel on the broker')
    await page.waitForSelector('#accounts')
    await screenshot(page, 'dashboard-broker.png')
    assert.deepEqual(troubles.get(page), [])
  } finally {
    await page.close()
  }
})
