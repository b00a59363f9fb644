// The dashboard's page: asks for the control API token once (or takes it from
// the URL fragment, which never reaches the server), keeps it in this tab's
// sessionStorage, and reads the daemon's routes every FAST_MS with it. A
// refused token clears every panel: without the token the page shows nothing.
/* global window, document, location, history, sessionStorage, fetch, setTimeout, clearTimeout */
import { el } from './dom.js'
import { PANELS, QUERIES } from './panels.js'

const FAST_MS = 1500
/**
 * Routes that cost the daemon a network call (and so count in its Table I
 * counters) are read this often, and at once when the daemon's status changed.
 */
const SLOW_MS = 30_000
const KEY = 'p2pay-token'
const $ = id => document.getElementById(id)

class Refused extends Error {}

let token = null
let routes = null
let slowAt = 0
let lastStatus = ''
let timer = null
/** the last answer of every route read: { value } or { error } */
const answers = new Map()

/** #token=... moves to sessionStorage and out of the address bar (and history) */
function takeToken() {
  const m = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1))
  if (m != null) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]))
    history.replaceState(null, '', location.pathname + location.search)
  }
  return sessionStorage.getItem(KEY)
}

async function call(path, withToken = true) {
  const headers = withToken && token != null ? { authorization: `Bearer ${token}` } : {}
  const res = await fetch(path, { headers, cache: 'no-store' })
  const text = await res.text()
  if (res.status === 401) throw new Refused(text)
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : null
  if (!res.ok) throw new Error(`${json?.error?.code ?? res.status}: ${json?.error?.message ?? text}`)
  return json ?? text
}

function refuse(why) {
  clearTimeout(timer)
  token = null
  routes = null
  answers.clear()
  sessionStorage.removeItem(KEY)
  $('panels').replaceChildren()
  $('role').textContent = ''
  $('forget').hidden = true
  $('live').textContent = 'not connected'
  $('live').className = 'live bad'
  $('refused').textContent = why
  $('refused').hidden = false
  $('login').hidden = false
}

async function tick() {
  const now = Date.now()
  routes ??= new Set((await call('/v1/routes')).routes.filter(r => r.startsWith('GET ')).map(r => r.slice(4)))
  const slowDue = now - slowAt >= SLOW_MS
  if (slowDue) slowAt = now
  const wanted = new Set()
  for (const p of PANELS) {
    for (const r of p.routes) if (routes.has(r) && (slowDue || !(p.slow ?? []).includes(r))) wanted.add(r)
  }
  const got = await Promise.allSettled([...wanted].map(async r => [r, await call(r + (QUERIES[r] ?? ''))]))
  for (const [i, g] of got.entries()) {
    if (g.status === 'rejected' && g.reason instanceof Refused) throw g.reason
    const r = [...wanted][i]
    answers.set(r, g.status === 'fulfilled' ? { value: g.value[1] } : { error: String(g.reason?.message ?? g.reason) })
  }
  // the schemes' figures, not their clocks: a reconcile alone changes no balance
  const status = JSON.stringify(answers.get('/v1/status')?.value?.schemes ?? null, (k, v) =>
    k === 'lastReconcile' ? undefined : v
  )
  if (status !== lastStatus) slowAt = 0
  lastStatus = status
  render()
}

function render() {
  const status = answers.get('/v1/status')?.value
  const ctx = {
    role: status?.role,
    me: status?.peerId,
    routes,
    val: r => answers.get(r)?.value,
    err: r => answers.get(r)?.error
  }
  $('role').textContent = ctx.role ?? ''
  document.title = `p2pay ${ctx.role ?? ''} ${ctx.me?.slice(-6) ?? ''}`
  const out = []
  for (const p of PANELS) {
    if (!routes.has(p.routes[0])) continue
    let body
    try {
      body = p.render(ctx)
    } catch (e) {
      body = el('p', { class: 'error' }, `cannot show this panel: ${e.message}`)
    }
    if (body == null) continue
    out.push(el('section', { id: p.id, class: p.wide ? 'panel wide' : 'panel' }, el('h2', {}, p.title), body))
  }
  $('panels').replaceChildren(...out)
  $('live').textContent = `live, updated ${new Date().toLocaleTimeString()}`
  $('live').className = 'live ok'
}

async function loop() {
  try {
    await tick()
  } catch (e) {
    if (e instanceof Refused) {
      refuse('Refused: the daemon did not accept this token (401 UNAUTHORIZED). Nothing is shown without it.')
      return
    }
    $('live').textContent = `daemon not answering: ${e.message}`
    $('live').className = 'live bad'
  }
  timer = setTimeout(loop, FAST_MS)
}

function start(t) {
  token = t
  $('refused').hidden = true
  $('login').hidden = true
  $('forget').hidden = false
  void loop()
}

/** without a token, ask anyway: the daemon's own refusal is what the page shows */
async function noToken() {
  try {
    await call('/v1/status', false)
    refuse('The daemon answered without a token: refusing to show it.')
  } catch (e) {
    refuse(e instanceof Refused ? 'Refused: no token given. The daemon answers no data call without it.' : e.message)
  }
}

$('token-form').addEventListener('submit', ev => {
  ev.preventDefault()
  const t = $('token').value.trim()
  $('token').value = ''
  if (t === '') return
  sessionStorage.setItem(KEY, t)
  start(t)
})
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY)
  refuse('Token forgotten.')
})
window.addEventListener('hashchange', () => {
  const t = takeToken()
  if (t != null && t !== token) start(t)
})

const first = takeToken()
if (first != null) start(first)
else void noToken()
