// The `p2pay` command: starts daemons and drives running ones through their control API.
import {
  loadOrCreateIdentity,
  parseArgv,
  peerIdOfKey,
  resolveConfig,
  specHelp,
  P2payError,
  type RunningDaemon,
  type Spec
} from '@p2pay/core'
import { exitOnSignals } from '@p2pay/core'
import { brokerSpec, startBroker, type BrokerConfig } from '@p2pay/broker'
import { nodeSpec, startNode, type NodeConfig } from '@p2pay/node'
import { ttpSpec, startTtp, type TtpConfig } from '@p2pay/ttp'
import { judgeSpec, startJudge, type JudgeConfig } from '@p2pay/judge'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { api, targetFromDataDir } from './client.ts'
import { buyFile } from './progress.ts'

interface Command {
  summary: string
  usage: string
  /** lines explaining the command's own flags */
  details?: string[]
  examples: string[]
  /** `args`: positional words after the command's name */
  run: (flags: Record<string, string | true>, args: string[]) => Promise<unknown>
  options?: Spec
}

const need = (flags: Record<string, string | true>, name: string): string => {
  const v = flags[name]
  if (typeof v !== 'string' || v === '') throw new P2payError('BAD_REQUEST', `--${name} is required`)
  return v
}
const num = (flags: Record<string, string | true>, name: string): number => {
  const n = Number(need(flags, name))
  if (!Number.isSafeInteger(n)) throw new P2payError('BAD_REQUEST', `--${name} must be an integer`)
  return n
}
const dirOf =
  (fallback: string) =>
  (f: Record<string, string | true>): string =>
    typeof f['data-dir'] === 'string' ? f['data-dir'] : (process.env.P2PAY_DATA_DIR ?? fallback)
const nodeDir = dirOf('./.data/node')
const on =
  (dir: (f: Record<string, string | true>) => string) =>
  (
    method: 'GET' | 'POST',
    path: string | ((f: Record<string, string | true>) => string),
    body?: (f: Record<string, string | true>) => unknown
  ) =>
  async (f: Record<string, string | true>) =>
    await api(targetFromDataDir(dir(f)), method, typeof path === 'string' ? path : path(f), body?.(f))
const onNode = on(nodeDir)
const onBroker = on(dirOf('./.data/broker'))
const onTtp = on(dirOf('./.data/ttp'))
const onJudge = on(dirOf('./.data/judge'))

/** `p2pay pay --to` (and `--provider`) take a peer id or a multiaddr ending in /p2p/<peer id>. */
function payee(to: string, flag = 'to'): { to: string; addrs: string[] } {
  if (!to.startsWith('/')) return { to, addrs: [] }
  const i = to.lastIndexOf('/p2p/')
  if (i < 0) throw new P2payError('BAD_REQUEST', `--${flag} multiaddr must end in /p2p/<peer id>`)
  return { to: to.slice(i + 5), addrs: [to.slice(0, i)] }
}

/** --form, when given: the fixed protocol (judge-backed) or the paper's original. */
function form(f: Record<string, string | true>): { form?: string } {
  if (f.form === undefined) return {}
  if (f.form !== 'original' && f.form !== 'fixed')
    throw new P2payError('BAD_REQUEST', '--form must be original or fixed')
  return { form: f.form }
}

/** A daemon runs until a signal stops it: the command returns nothing, so main does not exit. */
const startCmd =
  <C>(spec: Spec, start: (cfg: C) => Promise<RunningDaemon>) =>
  async (f: Record<string, string | true>) => {
    exitOnSignals(await start(resolveConfig<C>(spec, f)))
    return undefined
  }

const commands: Record<string, Command> = {
  'broker start': {
    summary: 'run the broker daemon (accounts, coin sales, cashing, downtime log, fraud proofs)',
    usage: 'p2pay broker start [options]',
    examples: ['p2pay broker start --data-dir ./.data/broker --listen /ip4/127.0.0.1/tcp/4001'],
    options: brokerSpec,
    run: startCmd<BrokerConfig>(brokerSpec, startBroker)
  },
  'broker topup': {
    summary: 'credit an account (stands in for the outside money system)',
    usage: 'p2pay broker topup --account <peer id> --amount <n> [--data-dir <broker dir>]',
    examples: ['p2pay broker topup --account 12D3KooW... --amount 1000'],
    run: onBroker('POST', '/v1/topup', f => ({ account: need(f, 'account'), amount: num(f, 'amount') }))
  },
  'broker status': {
    summary: 'broker identity and conservation audit',
    usage: 'p2pay broker status [--data-dir <dir>]',
    examples: ['p2pay broker status'],
    run: onBroker('GET', '/v1/status')
  },
  'broker accounts': {
    summary: 'every account balance',
    usage: 'p2pay broker accounts',
    examples: ['p2pay broker accounts'],
    run: onBroker('GET', '/v1/accounts')
  },
  'broker frauds': {
    summary: 'fraud proofs recorded, each naming its cheater',
    usage: 'p2pay broker frauds',
    examples: ['p2pay broker frauds'],
    run: onBroker('GET', '/v1/frauds')
  },
  'broker audit': {
    summary: 'balances + outstanding coins + certificate escrow = money topped up?',
    usage: 'p2pay broker audit',
    examples: ['p2pay broker audit'],
    run: onBroker('GET', '/v1/audit')
  },
  'ttp start': {
    summary:
      "run the file market's TTP (gives a paying downloader K, queues the countersigned cheque for its provider)",
    usage: 'p2pay ttp start [options]',
    examples: ['p2pay ttp start --data-dir ./.data/ttp --listen /ip4/127.0.0.1/tcp/4002'],
    options: ttpSpec,
    run: startCmd<TtpConfig>(ttpSpec, startTtp)
  },
  'ttp disputes': {
    summary: 'disputes the TTP resolved, and whether each provider fetched its cheque',
    usage: 'p2pay ttp disputes [--data-dir <ttp dir>]',
    examples: ['p2pay ttp disputes --data-dir ./.data/ttp'],
    run: onTtp('GET', '/v1/ttp/disputes')
  },
  'judge start': {
    summary:
      "run the file market's judge (rules on complaints, signs bans, has the broker void a banned provider's cheque)",
    usage: 'p2pay judge start --broker <multiaddr>/p2p/<id> [--ban-days 30] [options]',
    examples: [
      'p2pay judge start --data-dir ./.data/judge --broker /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... --ban-days 30'
    ],
    options: judgeSpec,
    run: startCmd<JudgeConfig>(judgeSpec, startJudge)
  },
  'judge verdicts': {
    summary: "verdicts given, with each providerBan's void at the broker",
    usage: 'p2pay judge verdicts [--data-dir <judge dir>]',
    examples: ['p2pay judge verdicts --data-dir ./.data/judge'],
    run: onJudge('GET', '/v1/judge/verdicts')
  },
  'judge bans': {
    summary: 'ban records in force',
    usage: 'p2pay judge bans [--data-dir <judge dir>]',
    examples: ['p2pay judge bans --data-dir ./.data/judge'],
    run: onJudge('GET', '/v1/judge/bans')
  },
  identity: {
    summary:
      "peer id of a data dir's identity key, made if missing (so the broker can be told the judge's id before either runs)",
    usage: 'p2pay identity --data-dir <dir>',
    examples: ['p2pay identity --data-dir ./.data/judge'],
    run: async f => {
      const dir = need(f, 'data-dir')
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      return { peerId: peerIdOfKey((await loadOrCreateIdentity(dir)).publicKey.raw) }
    }
  },
  'node start': {
    summary: 'run a peer daemon (pays, owns and holds coins, answers reassignments)',
    usage: 'p2pay node start --broker <multiaddr>/p2p/<id> [options]',
    examples: ['p2pay node start --data-dir ./.data/alice --broker /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...'],
    options: nodeSpec,
    run: startCmd<NodeConfig>(nodeSpec, startNode)
  },
  status: {
    summary: 'peer id, addresses, wallet summary',
    usage: 'p2pay status [--data-dir <node dir>]',
    examples: ['p2pay status --data-dir ./.data/alice'],
    run: onNode('GET', '/v1/status')
  },
  balance: {
    summary: 'account balance at the broker and wallet contents',
    usage: 'p2pay balance [--data-dir <node dir>]',
    examples: ['p2pay balance'],
    run: onNode('GET', '/v1/balance')
  },
  coins: {
    summary: 'owned and held coins',
    usage: 'p2pay coins [--data-dir <node dir>]',
    examples: ['p2pay coins'],
    run: onNode('GET', '/v1/coins')
  },
  buy: {
    summary: 'buy PPay coins from the broker, or a file from a provider (file market)',
    usage:
      'p2pay buy --count <n> --value <v> | p2pay buy --provider <peer id | ' +
      'multiaddr/p2p/id> --file <fileId> --out <path> [--form ' +
      'original|fixed] [--progress] [--data-dir <node dir>]',
    details: [
      '  --count, --value   coins: how many, of what value each, paid from the account balance',
      '  --provider         file: who sells it (a multiaddr also tells the node where to dial)',
      '  --file             file: its id (see p2pay catalog)',
      '  --out              file: where to write it (made absolute: the daemon writes it)',
      '  --form             file: insist on the fixed (judge-backed) or the original protocol',
      '  --progress         file: draw the progress bar on stderr even when it is not a terminal'
    ],
    examples: [
      'p2pay buy --count 10 --value 5',
      'p2pay buy --provider /ip4/127.0.0.1/tcp/4003/p2p/12D3KooW... --file 9f86d0... --out ./film.bin --form fixed'
    ],
    run: async f => {
      const file = f.provider !== undefined || f.file !== undefined || f.out !== undefined
      if (file && (f.count !== undefined || f.value !== undefined))
        throw new P2payError(
          'BAD_REQUEST',
          'buy takes --count/--value (coins) or --provider/--file/--out (a file), not both'
        )
      if (!file) return await onNode('POST', '/v1/buy', f => ({ count: num(f, 'count'), value: num(f, 'value') }))(f)
      const { to: provider, addrs } = payee(need(f, 'provider'), 'provider')
      return await buyFile(
        targetFromDataDir(nodeDir(f)),
        { provider, addrs, fileId: need(f, 'file'), out: resolve(need(f, 'out')), ...form(f) },
        f.progress === true || f.progress === 'true' || process.stderr.isTTY === true
      )
    }
  },
  pay: {
    summary: 'pay a peer an exact amount with owned or held coins',
    usage: 'p2pay pay --to <peer id | multiaddr/p2p/id> --amount <n> [--layered] [--data-dir <node dir>]',
    examples: [
      'p2pay pay --to 12D3KooW... --amount 5',
      'p2pay pay --to /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW... --amount 10 --layered'
    ],
    run: onNode('POST', '/v1/pay', f => ({
      ...payee(need(f, 'to')),
      amount: num(f, 'amount'),
      layered: f.layered === true
    }))
  },
  cash: {
    summary: 'cash every held coin at the broker',
    usage: 'p2pay cash [--data-dir <node dir>]',
    examples: ['p2pay cash'],
    run: onNode('POST', '/v1/cash')
  },
  refund: {
    summary: 'return owned coins never assigned to the broker for their value',
    usage: 'p2pay refund [--data-dir <node dir>]',
    examples: ['p2pay refund'],
    run: onNode('POST', '/v1/refund')
  },
  sync: {
    summary: "pull the broker's downtime log for coins this node owns",
    usage: 'p2pay sync [--data-dir <node dir>]',
    examples: ['p2pay sync'],
    run: onNode('POST', '/v1/sync')
  },
  retry: {
    summary: 'retry queued deliveries and purchases now',
    usage: 'p2pay retry',
    examples: ['p2pay retry'],
    run: onNode('POST', '/v1/retry')
  },
  trail: {
    summary: 'audit trail of an owned coin',
    usage: 'p2pay trail --sn <serial>',
    examples: ['p2pay trail --sn 5f2c...'],
    run: async f => await onNode('GET', `/v1/trail?sn=${encodeURIComponent(need(f, 'sn'))}`)(f)
  },
  connect: {
    summary: 'dial a peer',
    usage: 'p2pay connect --addr <multiaddr>',
    examples: ['p2pay connect --addr /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW...'],
    run: onNode('POST', '/v1/connect', f => ({ addr: need(f, 'addr') }))
  },
  share: {
    summary: 'offer a file for sale: the node hashes it into pieces and signs its manifest',
    usage: 'p2pay share --path <file> --price <n> [--name <s>] [--form original|fixed] [--data-dir <node dir>]',
    details: [
      '  --path    the file (made absolute: the daemon reads it from disk at each sale)',
      '  --price   what one download costs',
      "  --name    the name buyers see (default: the file's own name)",
      '  --form    the protocol the sales use: fixed (judge-backed) or original'
    ],
    examples: [
      'p2pay share --path ./film.bin --price 25',
      'p2pay share --path ./song.ogg --price 3 --name "song.ogg" --form fixed'
    ],
    run: onNode('POST', '/v1/fairex/share', f => ({
      path: resolve(need(f, 'path')),
      price: num(f, 'price'),
      ...(typeof f.name === 'string' ? { name: f.name } : {}),
      ...form(f)
    }))
  },
  files: {
    summary: 'the files this node offers',
    usage: 'p2pay files [--data-dir <node dir>]',
    examples: ['p2pay files'],
    run: onNode('GET', '/v1/fairex/files')
  },
  catalog: {
    summary: 'the files a provider offers',
    usage: 'p2pay catalog --provider <peer id | multiaddr/p2p/id> [--data-dir <node dir>]',
    examples: [
      'p2pay catalog --provider 12D3KooW...',
      'p2pay catalog --provider /ip4/127.0.0.1/tcp/4003/p2p/12D3KooW...'
    ],
    run: onNode('GET', f => {
      payee(need(f, 'provider'), 'provider')
      return `/v1/fairex/catalog?provider=${encodeURIComponent(need(f, 'provider'))}`
    })
  },
  deposit: {
    summary: "deposit the cheques of this node's sales at the broker's accounting centre",
    usage: 'p2pay deposit [--data-dir <node dir>]',
    examples: ['p2pay deposit'],
    run: onNode('POST', '/v1/fairex/deposit')
  },
  purchases: {
    summary: 'files bought or being bought, with their state',
    usage: 'p2pay purchases [--data-dir <node dir>]',
    examples: ['p2pay purchases'],
    run: onNode('GET', '/v1/fairex/purchases')
  },
  sales: {
    summary: 'files sold, with their cheques',
    usage: 'p2pay sales [--data-dir <node dir>]',
    examples: ['p2pay sales'],
    run: onNode('GET', '/v1/fairex/sales')
  },
  bans: {
    summary: 'providers the judge banned, as this node knows them',
    usage: 'p2pay bans [--data-dir <node dir>]',
    examples: ['p2pay bans'],
    run: onNode('GET', '/v1/fairex/bans')
  },
  complain: {
    summary: 'take a purchase whose key does not open the file to the judge (fixed form)',
    usage: 'p2pay complain --sn <cheque serial> [--data-dir <node dir>]',
    examples: ['p2pay complain --sn 3b1f0c9e8d7a6b5c'],
    run: onNode('POST', '/v1/fairex/complain', f => ({ chequeSn: need(f, 'sn') }))
  }
}

/** `p2pay karma balance [peer]`: the peer as a word or --peer; none means this node's own account. */
function peerArg(f: Record<string, string | true>, args: string[]): string {
  const p = args[0] ?? (typeof f.peer === 'string' ? f.peer : '')
  if (args.length > 1) throw new P2payError('BAD_REQUEST', 'at most one peer id')
  return p === '' ? '' : `?peer=${encodeURIComponent(payee(p, 'peer').to)}`
}

Object.assign(commands, {
  'karma join': {
    summary: "Karma: solve the join puzzle and have this node's bank-set open its account with the initial karma",
    usage: 'p2pay karma join [--data-dir <node dir>]',
    examples: ['p2pay karma join', 'p2pay karma join --data-dir ./.data/alice'],
    run: onNode('POST', '/v1/karma/join')
  },
  'karma balance': {
    summary: "Karma: a balance as a strict majority of the account's bank-set signed it (default: this node's own)",
    usage: 'p2pay karma balance [peer id] [--data-dir <node dir>]',
    details: ['  [peer id]          whose balance (a multiaddr ending in /p2p/<id> works too); also --peer'],
    examples: ['p2pay karma balance', 'p2pay karma balance 12D3KooW...'],
    run: async (f: Record<string, string | true>, args: string[]) =>
      await onNode('GET', `/v1/karma/balance${peerArg(f, args)}`)(f)
  },
  'karma transfer': {
    summary: 'Karma: move karma to another peer through both bank-sets (receipt once a majority of each confirmed)',
    usage: 'p2pay karma transfer --to <peer id> --amount <n> [--data-dir <node dir>]',
    details: [
      '  --to               the payee: a peer id with a karma account',
      '  --amount           whole karma units'
    ],
    examples: ['p2pay karma transfer --to 12D3KooW... --amount 25'],
    run: onNode('POST', '/v1/karma/transfer', f => ({ to: payee(need(f, 'to')).to, amount: num(f, 'amount') }))
  },
  'karma bankset': {
    summary: 'Karma: bank(peer) as this node computes it: the k peers closest to H("karma|" + peer) (default: its own)',
    usage: 'p2pay karma bankset [peer id] [--fresh] [--data-dir <node dir>]',
    details: [
      '  [peer id]          whose bank-set; also --peer',
      '  --fresh            ask the DHT now instead of reusing a recent answer'
    ],
    examples: ['p2pay karma bankset', 'p2pay karma bankset 12D3KooW... --fresh'],
    run: async (f: Record<string, string | true>, args: string[]) => {
      const q = peerArg(f, args)
      const fresh = f.fresh === true ? (q === '' ? '?fresh=1' : '&fresh=1') : ''
      return await onNode('GET', `/v1/karma/bankset${q}${fresh}`)(f)
    }
  },
  'karma status': {
    summary: "Karma: this node's books as a bank member, its epoch, pending work",
    usage: 'p2pay karma status [--data-dir <node dir>]',
    examples: ['p2pay karma status'],
    run: onNode('GET', '/v1/karma/status')
  },
  'karma received': {
    summary: 'Karma: transfers this node was paid, each with majority receipts of both bank-sets',
    usage: 'p2pay karma received [--data-dir <node dir>]',
    examples: ['p2pay karma received'],
    run: onNode('GET', '/v1/karma/received')
  },
  'karma caught': {
    summary: 'Karma: bank members this node caught signing something false, with the signed evidence',
    usage: 'p2pay karma caught [--data-dir <node dir>]',
    examples: ['p2pay karma caught'],
    run: onNode('GET', '/v1/karma/caught')
  }
} satisfies Record<string, Command>)

function usage(): string {
  const w = Math.max(...Object.keys(commands).map(k => k.length))
  return [
    'Usage: p2pay <command> [options]   (p2pay <command> --help for details)',
    '',
    'Commands:',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
    '',
    'Client commands find the daemon through --data-dir (api.json + api.token there).'
  ].join('\n')
}

function help(name: string, c: Command): string {
  return [
    `p2pay ${name}: ${c.summary}`,
    '',
    `Usage: ${c.usage}`,
    ...(c.options != null
      ? ['', 'Options (flag > env > --config file > default):', specHelp(c.options)]
      : ['', ...(c.details ?? []), '  --data-dir <dir>   data dir of the daemon to talk to']),
    '',
    'Examples:',
    ...c.examples.map(e => `  ${e}`)
  ].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgv(argv)
  const two = positional.slice(0, 2).join(' ')
  const name = commands[two] != null ? two : positional[0]
  const cmd = name != null ? commands[name] : undefined
  if (cmd == null) {
    process.stdout.write(usage() + '\n')
    return positional.length === 0 || flags.help === true ? 0 : 2
  }
  if (flags.help === true) {
    process.stdout.write(help(name!, cmd) + '\n')
    return 0
  }
  const out = await cmd.run(flags, positional.slice(name!.split(' ').length))
  if (out !== undefined) process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  return out === undefined ? -1 : 0
}

main(process.argv.slice(2)).then(
  code => {
    if (code >= 0) process.exit(code)
  },
  err => {
    if (err instanceof P2payError) {
      process.stderr.write(`error ${err.code}: ${err.message}\n`)
      process.exit(err.code === 'BAD_REQUEST' ? 2 : 1)
    }
    process.stderr.write(`error: ${err?.stack ?? err}\n`)
    process.exit(1)
  }
)
