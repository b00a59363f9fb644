// The `p2pay` command: starts daemons and drives running ones through their control API.
import { parseArgv, resolveConfig, specHelp, P2payError, type Spec } from '@p2pay/core'
import { exitOnSignals } from '@p2pay/core'
import { brokerSpec, startBroker, type BrokerConfig } from '@p2pay/broker'
import { nodeSpec, startNode, type NodeConfig } from '@p2pay/node'
import { api, targetFromDataDir } from './client.ts'

interface Command {
  summary: string
  usage: string
  examples: string[]
  run: (flags: Record<string, string | true>) => Promise<unknown>
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
const nodeDir = (f: Record<string, string | true>): string => typeof f['data-dir'] === 'string' ? f['data-dir'] : (process.env.P2PAY_DATA_DIR ?? './.data/node')
const brokerDir = (f: Record<string, string | true>): string => typeof f['data-dir'] === 'string' ? f['data-dir'] : (process.env.P2PAY_DATA_DIR ?? './.data/broker')
const onNode = (method: 'GET' | 'POST', path: string, body?: (f: Record<string, string | true>) => unknown) =>
  async (f: Record<string, string | true>) => await api(targetFromDataDir(nodeDir(f)), method, typeof path === 'string' ? path : '', body?.(f))
const onBroker = (method: 'GET' | 'POST', path: string, body?: (f: Record<string, string | true>) => unknown) =>
  async (f: Record<string, string | true>) => await api(targetFromDataDir(brokerDir(f)), method, path, body?.(f))

/** `p2pay pay --to` takes a peer id or a multiaddr ending in /p2p/<peer id>. */
function payee (to: string): { to: string, addrs: string[] } {
  if (!to.startsWith('/')) return { to, addrs: [] }
  const i = to.lastIndexOf('/p2p/')
  if (i < 0) throw new P2payError('BAD_REQUEST', '--to multiaddr must end in /p2p/<peer id>')
  return { to: to.slice(i + 5), addrs: [to.slice(0, i)] }
}

const commands: Record<string, Command> = {
  'broker start': {
    summary: 'run the broker daemon (accounts, coin sales, cashing, downtime log, fraud proofs)',
    usage: 'p2pay broker start [options]',
    examples: ['p2pay broker start --data-dir ./.data/broker --listen /ip4/127.0.0.1/tcp/4001'],
    options: brokerSpec,
    run: async (f) => {
      const d = await startBroker(resolveConfig<BrokerConfig>(brokerSpec, f))
      exitOnSignals(d)
      return undefined
    }
  },
  'broker topup': {
    summary: 'credit an account (stands in for the outside money system)',
    usage: 'p2pay broker topup --account <peer id> --amount <n> [--data-dir <broker dir>]',
    examples: ['p2pay broker topup --account 12D3KooW... --amount 1000'],
    run: onBroker('POST', '/v1/topup', f => ({ account: need(f, 'account'), amount: num(f, 'amount') }))
  },
  'broker status': { summary: 'broker identity and conservation audit', usage: 'p2pay broker status [--data-dir <dir>]', examples: ['p2pay broker status'], run: onBroker('GET', '/v1/status') },
  'broker accounts': { summary: 'every account balance', usage: 'p2pay broker accounts', examples: ['p2pay broker accounts'], run: onBroker('GET', '/v1/accounts') },
  'broker frauds': { summary: 'fraud proofs recorded, each naming its cheater', usage: 'p2pay broker frauds', examples: ['p2pay broker frauds'], run: onBroker('GET', '/v1/frauds') },
  'broker audit': { summary: 'balances + outstanding coins = money topped up?', usage: 'p2pay broker audit', examples: ['p2pay broker audit'], run: onBroker('GET', '/v1/audit') },
  'node start': {
    summary: 'run a peer daemon (pays, owns and holds coins, answers reassignments)',
    usage: 'p2pay node start --broker <multiaddr>/p2p/<id> [options]',
    examples: ['p2pay node start --data-dir ./.data/alice --broker /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...'],
    options: nodeSpec,
    run: async (f) => {
      const d = await startNode(resolveConfig<NodeConfig>(nodeSpec, f))
      exitOnSignals(d)
      return undefined
    }
  },
  status: { summary: 'peer id, addresses, wallet summary', usage: 'p2pay status [--data-dir <node dir>]', examples: ['p2pay status --data-dir ./.data/alice'], run: onNode('GET', '/v1/status') },
  balance: { summary: 'account balance at the broker and wallet contents', usage: 'p2pay balance [--data-dir <node dir>]', examples: ['p2pay balance'], run: onNode('GET', '/v1/balance') },
  coins: { summary: 'owned and held coins', usage: 'p2pay coins [--data-dir <node dir>]', examples: ['p2pay coins'], run: onNode('GET', '/v1/coins') },
  buy: {
    summary: 'buy coins from the broker against the account balance',
    usage: 'p2pay buy --count <n> --value <v> [--data-dir <node dir>]',
    examples: ['p2pay buy --count 10 --value 5'],
    run: onNode('POST', '/v1/buy', f => ({ count: num(f, 'count'), value: num(f, 'value') }))
  },
  pay: {
    summary: 'pay a peer an exact amount with owned or held coins',
    usage: 'p2pay pay --to <peer id | multiaddr/p2p/id> --amount <n> [--layered] [--data-dir <node dir>]',
    examples: ['p2pay pay --to 12D3KooW... --amount 5', 'p2pay pay --to /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW... --amount 10 --layered'],
    run: onNode('POST', '/v1/pay', f => ({ ...payee(need(f, 'to')), amount: num(f, 'amount'), layered: f.layered === true }))
  },
  cash: { summary: 'cash every held coin at the broker', usage: 'p2pay cash [--data-dir <node dir>]', examples: ['p2pay cash'], run: onNode('POST', '/v1/cash') },
  refund: { summary: 'return owned coins never assigned to the broker for their value', usage: 'p2pay refund [--data-dir <node dir>]', examples: ['p2pay refund'], run: onNode('POST', '/v1/refund') },
  sync: { summary: 'pull the broker\'s downtime log for coins this node owns', usage: 'p2pay sync [--data-dir <node dir>]', examples: ['p2pay sync'], run: onNode('POST', '/v1/sync') },
  retry: { summary: 'retry queued deliveries and purchases now', usage: 'p2pay retry', examples: ['p2pay retry'], run: onNode('POST', '/v1/retry') },
  trail: { summary: 'audit trail of an owned coin', usage: 'p2pay trail --sn <serial>', examples: ['p2pay trail --sn 5f2c...'], run: async (f) => await onNode('GET', `/v1/trail?sn=${encodeURIComponent(need(f, 'sn'))}`)(f) },
  connect: { summary: 'dial a peer', usage: 'p2pay connect --addr <multiaddr>', examples: ['p2pay connect --addr /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW...'], run: onNode('POST', '/v1/connect', f => ({ addr: need(f, 'addr') })) }
}

function usage (): string {
  const w = Math.max(...Object.keys(commands).map(k => k.length))
  return ['Usage: p2pay <command> [options]   (p2pay <command> --help for details)', '', 'Commands:',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
    '', 'Client commands find the daemon through --data-dir (api.json + api.token there).'].join('\n')
}

function help (name: string, c: Command): string {
  return [`p2pay ${name}: ${c.summary}`, '', `Usage: ${c.usage}`, ...(c.options != null ? ['', 'Options (flag > env > --config file > default):', specHelp(c.options)] : ['', '  --data-dir <dir>   data dir of the daemon to talk to']),
    '', 'Examples:', ...c.examples.map(e => `  ${e}`)].join('\n')
}

async function main (argv: string[]): Promise<number> {
  const { flags, positional } = parseArgv(argv)
  const two = positional.slice(0, 2).join(' ')
  const name = commands[two] != null ? two : positional[0]
  const cmd = name != null ? commands[name] : undefined
  if (cmd == null) {
    process.stdout.write(usage() + '\n')
    return positional.length === 0 || flags.help === true ? 0 : 2
  }
  if (flags.help === true) { process.stdout.write(help(name!, cmd) + '\n'); return 0 }
  const out = await cmd.run(flags)
  if (out !== undefined) process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  return out === undefined ? -1 : 0
}

main(process.argv.slice(2)).then((code) => { if (code >= 0) process.exit(code) }, (err) => {
  if (err instanceof P2payError) {
    process.stderr.write(`error ${err.code}: ${err.message}\n`)
    process.exit(err.code === 'BAD_REQUEST' ? 2 : 1)
  }
  process.stderr.write(`error: ${err?.stack ?? err}\n`)
  process.exit(1)
})
