// What the page shows, panel by panel. A panel names the routes it reads; it
// is shown only when its first route exists on this daemon (a scheme the
// daemon does not host, or a route it does not have, hides the panel), and an
// answer it needs that failed is shown as that failure, never as zeros.
import { el, kv, lists, short, show, table } from './dom.js'
import { renderCounters } from './metrics.js'

const PAYMENTS_SHOWN = 50
/** what a route is read with: the newest payments only */
export const QUERIES = { '/v1/payments': `?limit=${PAYMENTS_SHOWN}` }

const sum = (xs, f) => xs.reduce((s, x) => s + (Number(f(x)) || 0), 0)
const list = (v, key) => (Array.isArray(v) ? v : Array.isArray(v?.[key]) ? v[key] : [])
const failure = msg => el('p', { class: 'error' }, msg)

function identity(c) {
  const s = c.val('/v1/status')
  if (s == null) return null
  const { role, peerId, addrs, connections, schemes: _s, ...rest } = s
  const parties = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v !== 'object' || v === null))
  return [
    el(
      'dl',
      { class: 'kv' },
      el('dt', {}, 'role'),
      el('dd', {}, role),
      el('dt', {}, 'peer id'),
      el('dd', { id: 'peer-id', class: 'mono' }, peerId),
      el('dt', {}, 'addresses'),
      el(
        'dd',
        { class: 'mono' },
        (addrs ?? []).map(a => el('div', {}, a))
      ),
      el('dt', {}, 'connections'),
      el('dd', { id: 'connections' }, show(connections)),
      el('dt', {}, 'schemes'),
      el('dd', {}, Object.keys(s.schemes ?? {}).join(', ') || '—')
    ),
    Object.keys(parties).length > 0 ? [el('h3', {}, 'knows'), kv(parties)] : null
  ]
}

const peers = c => {
  const v = c.val('/v1/peers')
  return v == null
    ? null
    : table(list(v, 'peers'), ['peer', 'addr', 'direction', 'opened', 'streams'], r => ({ peer: r.peer }))
}

/** spendable now apart from pending, per scheme, from each scheme's status (and the slower reads beside it) */
function balances(c) {
  const sc = c.val('/v1/status')?.schemes
  if (sc == null || c.role !== 'node') return null
  const rows = []
  const w = sc.ppay?.wallet
  if (w != null) {
    const acct = c.val('/v1/ppay/balance')
    rows.push({
      scheme: 'ppay',
      spendable: (w.ownedUnassigned?.value ?? 0) + (w.held?.value ?? 0),
      pending: `${w.pendingDeliveries ?? 0} deliveries, ${w.pendingBuys ?? 0} buys`,
      detail: `broker account ${acct?.broker ?? c.err('/v1/ppay/balance') ?? '…'}; cashed ${w.cashed?.value ?? 0}`
    })
  }
  const a = sc.aggsign
  if (a != null)
    rows.push({
      scheme: 'aggsign',
      spendable: a.balance,
      pending: `${a.pending ?? 0} in outbox`,
      detail: `minted ${a.minted ?? 0} of limit ${a.limit ?? 0}`
    })
  const wp = sc.whopay
  if (wp != null) {
    const coins = c.val('/v1/whopay/coins')
    rows.push({
      scheme: 'whopay',
      spendable:
        coins != null ? sum(list(coins, 'held'), x => (x.status === 'held' ? x.value : 0)) : `${wp.held} coins`,
      pending: `${wp.pending ?? 0} transfers`,
      detail: `${wp.joined ? 'group member' : 'not joined'}; owns ${wp.owned ?? 0} coins`
    })
  }
  const f = sc.fairex
  if (f != null)
    rows.push({
      scheme: 'fairex',
      spendable: '—',
      pending: `${f.pendingDeposits ?? 0} cheques to deposit`,
      detail: `${f.shared ?? 0} files shared, ${f.sales ?? 0} sales, ${f.purchases ?? 0} purchases`
    })
  const k = sc.karma
  if (k != null) {
    const b = c.val('/v1/karma/balance')
    rows.push({
      scheme: 'karma',
      spendable: b?.balance ?? '—',
      pending: `${k.pendingOwn ?? 0} own transfers, ${k.outbox ?? 0} notices`,
      detail: b != null ? 'majority of bank(self)' : (c.err('/v1/karma/balance') ?? 'reading bank(self)…')
    })
  }
  return table(rows, ['scheme', 'spendable', 'pending', 'detail'], r => ({ scheme: r.scheme }))
}

const PAYMENT_COLUMNS = ['id', 'scheme', 'op', 'peer', 'amount', 'state', 'reason', 'updated', 'deadline']

/** the payments journal: every payment, transfer, purchase and cash-out with its state, newest first */
function payments(c) {
  const v = c.val('/v1/payments')
  if (v == null) return c.err('/v1/payments') != null ? failure(c.err('/v1/payments')) : null
  const rows = list(v, 'payments')
  const inFlight = rows.filter(r => r.state === 'pending').length
  return [
    el('p', {}, `${inFlight} in flight, ${rows.length - inFlight} final (the last ${PAYMENTS_SHOWN})`),
    table(rows, PAYMENT_COLUMNS, r => ({ id: r.id ?? '', state: r.state ?? '' }))
  ]
}

/** paid, received and uncashed per peer and scheme, and how the last cash-out of each scheme went */
function perPeer(c) {
  const v = c.val('/v1/payments/peers')
  if (v == null) return c.err('/v1/payments/peers') != null ? failure(c.err('/v1/payments/peers')) : null
  const rows = list(v, 'peers').flatMap(p =>
    Object.entries(p.schemes ?? {}).map(([scheme, f]) => ({ peer: p.peer, scheme, ...f }))
  )
  const cash = list(v, 'cashOuts').map(({ lastFailure, ...o }) => ({
    ...o,
    'last failure': lastFailure?.reason,
    'failed at': lastFailure?.at
  }))
  return [table(rows, undefined, r => ({ peer: r.peer })), el('h3', {}, 'cash-outs and deposits'), table(cash)]
}

/** PPay: this node's coins as owner (and who holds them now), and the coins it holds */
function ppayCoins(c) {
  const v = c.val('/v1/ppay/coins')
  if (v == null) return null
  const owned = list(v, 'owned')
  const out = owned.filter(x => x.holder !== c.me)
  const byHolder = new Map()
  for (const x of out) {
    const r = byHolder.get(x.holder) ?? { holder: x.holder, coins: 0, value: 0 }
    r.coins += 1
    r.value += x.value ?? 0
    byHolder.set(x.holder, r)
  }
  return [
    el('h3', {}, `my coins held by others (${out.length}, value ${sum(out, x => x.value)})`),
    table([...byHolder.values()], ['holder', 'coins', 'value'], r => ({ peer: r.holder })),
    el('h3', {}, `owned (${owned.length})`),
    table(owned, ['sn', 'value', 'seq', 'holder', 'refunded', 'expiry']),
    el('h3', {}, `held (${list(v, 'held').length}, value ${sum(list(v, 'held'), x => x.value)})`),
    table(list(v, 'held'), ['sn', 'value', 'owner', 'seq', 'depth', 'status', 'from'])
  ]
}

function files(c) {
  const p = c.val('/v1/fairex/purchases')
  const s = c.val('/v1/fairex/sales')
  const f = c.val('/v1/fairex/files')
  if (p == null && s == null) return null
  const progress = list(p, 'progress')
  return [
    el('h3', {}, `downloads under way (${progress.length})`),
    progress.length === 0
      ? el('p', { class: 'empty' }, 'none')
      : progress.map(x =>
          el(
            'div',
            { data: { serial: x.serial } },
            el('progress', { max: x.total || 1, value: x.received }),
            `${Math.floor((100 * x.received) / (x.total || 1))}% of ${show(x.total)} bytes from `,
            short(x.provider)
          )
        ),
    el('h3', {}, `purchases (${list(p, 'purchases').length})`),
    table(list(p, 'purchases')),
    el('h3', {}, `sales (${list(s, 'sales').length}), ${s?.pendingDeposits ?? 0} cheques to deposit`),
    table(list(s, 'sales')),
    el('h3', {}, `shared files (${list(f, 'files').length})`),
    table(list(f, 'files'))
  ]
}

function karma(c) {
  const st = c.val('/v1/karma/status')
  if (st == null) return null
  const books = c.val('/v1/karma/books')?.accounts ?? {}
  const bank = c.val('/v1/karma/bankset')
  return [
    kv({ k: st.k, epoch: st.epoch?.epoch, 'karma banked': st.books?.karma, reconciling: st.reconciling }),
    el('h3', {}, 'bank(self): the peers that keep my balance'),
    bank != null
      ? table((bank.bank ?? []).map(p => ({ member: p })))
      : failure(c.err('/v1/karma/bankset') ?? 'looking up…'),
    el('h3', {}, `accounts I bank for (${Object.keys(books).length})`),
    table(Object.entries(books).map(([account, r]) => ({ account, ...r }))),
    el('h3', {}, 'sent'),
    table(list(c.val('/v1/karma/sent'), 'sent')),
    el('h3', {}, 'received'),
    table(list(c.val('/v1/karma/received'), 'received'))
  ]
}

/** fraud proofs and convictions, of every scheme that keeps them here */
function frauds(c) {
  const parts = [
    ['ppay', '/v1/ppay/frauds', 'frauds'],
    ['aggsign', '/v1/aggsign/frauds', 'frauds'],
    ['whopay', '/v1/whopay/frauds', 'frauds'],
    ['whopay cases', '/v1/whopay/frauds', 'cases'],
    ['karma: caught by this bank member', '/v1/karma/caught', 'caught']
  ].filter(([, r]) => c.routes.has(r))
  if (parts.length === 0) return null
  return parts.map(([name, r, key]) => [
    el('h3', {}, name),
    c.val(r) != null ? table(list(c.val(r), key)) : failure(c.err(r) ?? '…')
  ])
}

function audit(c) {
  const a = c.val('/v1/audit')
  if (a == null) return null
  const holds = a.holds === true
  const parts = Object.entries(a).filter(([, v]) => v != null && typeof v === 'object' && 'holds' in v)
  return [
    el(
      'p',
      { id: 'audit-holds', class: `holds ${holds ? 'yes' : 'no'}`, data: { holds } },
      holds ? 'conservation holds' : 'conservation VIOLATED'
    ),
    kv(Object.fromEntries(Object.entries(a).filter(([, v]) => typeof v !== 'object'))),
    parts.map(([k, v]) => [el('h3', {}, `${k}: ${v.holds ? 'holds' : 'VIOLATED'}`), kv(v, ['holds'])])
  ]
}

const accounts = c => {
  const v = c.val('/v1/accounts')?.accounts
  return v == null ? null : table(Object.entries(v).map(([account, balance]) => ({ account, balance })))
}

/** a panel that shows one route's answer as it is: its lists as tables, the rest as fields */
const plain = route => c => (c.val(route) != null ? lists(c.val(route)) : c.err(route) ? failure(c.err(route)) : null)

const schemes = c => {
  const sc = c.val('/v1/status')?.schemes
  return sc == null ? null : Object.entries(sc).map(([name, st]) => [el('h3', {}, name), kv(st)])
}

const counters = c => (c.val('/metrics') != null ? renderCounters(c.val('/metrics')) : null)

/** `routes`: the first must exist for the panel to show; `slow`: routes that cost a network call, read less often */
export const PANELS = [
  { id: 'identity', title: 'Identity', routes: ['/v1/status'], render: identity },
  { id: 'peers', title: 'Connected peers', routes: ['/v1/peers'], render: peers },
  {
    id: 'balances',
    title: 'Balances per scheme',
    routes: ['/v1/status', '/v1/whopay/coins', '/v1/ppay/balance', '/v1/karma/balance'],
    slow: ['/v1/ppay/balance', '/v1/karma/balance'],
    render: balances
  },
  { id: 'audit', title: 'Audit (conservation of money)', routes: ['/v1/audit'], render: audit },
  { id: 'payments', title: 'Payments', routes: ['/v1/payments'], render: payments, wide: true },
  { id: 'peer-totals', title: 'Per peer', routes: ['/v1/payments/peers'], render: perPeer },
  { id: 'ppay-coins', title: 'PPay coins', routes: ['/v1/ppay/coins'], render: ppayCoins },
  {
    id: 'files',
    title: 'File sales and purchases',
    routes: ['/v1/fairex/sales', '/v1/fairex/purchases', '/v1/fairex/files'],
    render: files
  },
  {
    id: 'karma',
    title: 'Karma',
    routes: ['/v1/karma/status', '/v1/karma/books', '/v1/karma/bankset', '/v1/karma/sent', '/v1/karma/received'],
    slow: ['/v1/karma/bankset'],
    render: karma
  },
  {
    id: 'frauds',
    title: 'Fraud proofs',
    routes: ['/v1/status', '/v1/ppay/frauds', '/v1/aggsign/frauds', '/v1/whopay/frauds', '/v1/karma/caught'],
    render: frauds
  },
  { id: 'verdicts', title: 'Judge: verdicts', routes: ['/v1/fairex/verdicts'], render: plain('/v1/fairex/verdicts') },
  {
    id: 'openings',
    title: 'Judge: WhoPay openings',
    routes: ['/v1/whopay/openings'],
    render: plain('/v1/whopay/openings')
  },
  {
    id: 'bans',
    title: 'Bans',
    routes: ['/v1/fairex/bans'],
    slow: ['/v1/fairex/bans'],
    render: plain('/v1/fairex/bans')
  },
  { id: 'disputes', title: 'TTP: disputes', routes: ['/v1/fairex/disputes'], render: plain('/v1/fairex/disputes') },
  { id: 'accounts', title: 'Broker: accounts', routes: ['/v1/accounts'], render: accounts },
  {
    id: 'ac-holds',
    title: 'Accounting centre: holds',
    routes: ['/v1/fairex/holds'],
    render: plain('/v1/fairex/holds')
  },
  {
    id: 'ac-cheques',
    title: 'Accounting centre: cheques',
    routes: ['/v1/fairex/cheques'],
    render: plain('/v1/fairex/cheques')
  },
  { id: 'aggsign-coins', title: 'AggSign coins', routes: ['/v1/aggsign/coins'], render: plain('/v1/aggsign/coins') },
  { id: 'whopay-coins', title: 'WhoPay coins', routes: ['/v1/whopay/coins'], render: plain('/v1/whopay/coins') },
  { id: 'counters', title: 'Table I counters per transaction kind', routes: ['/metrics'], render: counters },
  { id: 'schemes', title: 'Schemes', routes: ['/v1/status'], render: schemes, wide: true }
]
