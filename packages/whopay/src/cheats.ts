// Deliberate fraud, for test swarms only: a node exposes these only when
// started with --allow-cheats. Each one sends exactly what a real cheater
// would (signed with the old holding key and its own group key, counted under
// the kinds a real one's would be), so the detection by the broker, the owner
// and the DHT is tested for real.
import { dialAddrs, fail, party, textOf, type Routes } from '@p2pay/core'
import { openBinding, openCoinCert } from './core/coin.ts'
import { TAG, type TransferBody } from './core/messages.ts'
import { WhopayErrorCode } from './errors.ts'
import { LEDGER_PROTOCOL, PAY_PROTOCOL } from './net/protocols.ts'
import type { WalletHeld } from './core/wallet.ts'
import { asHolder, signHolder, type WalletContext } from './net/wallet-context.ts'
import { purseKey } from './net/wallet-purse.ts'
import type { WalletService } from './net/wallet-service.ts'

/** The holding of `coin` this node already passed on: its old key, seed and binding. */
function passedOn(w: WalletContext, coinIn: unknown): WalletHeld {
  const id = textOf(coinIn)
  const h = [...w.wallet.t.held.values()].find(x => x.coin === id && x.status === 'spent')
  if (h == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node has not passed that coin on')
  return h
}

export function cheatRoutes(svc: WalletService): Routes {
  return {
    /** Transfers a coin already transferred, from its old holding key, to a second payee, via the broker. */
    'POST /double-transfer': async b => {
      const w = svc.w
      const h = passedOn(w, b.coin)
      const to = party(b.to, 'to')
      const kind = 'whopay-transfer'
      return await asHolder(w, async anon => {
        const inv = await anon.call<{ key: string }>(
          to,
          PAY_PROTOCOL,
          'invoice',
          { value: h.value },
          { kind: 'whopay-invoice' }
        )
        const body: TransferBody = { coin: h.coin, gen: h.gen, seq: h.seq, to: inv.key, at: Date.now() }
        const request = await signHolder(w, h.seed, TAG.transfer, body, kind)
        const args = { cert: h.cert, ...(h.binding != null ? { binding: h.binding } : {}), request }
        const r = await anon.call<{ binding: string }>(w.c.broker, LEDGER_PROTOCOL, 'transfer', args, {
          kind,
          timeoutMs: 60_000
        })
        const cert = openCoinCert(w.c.verifier, h.cert, { broker: w.c.broker.id }, kind)
        openBinding(w.c.verifier, r.binding, cert, kind)
        const ack = await anon.call(
          to,
          PAY_PROTOCOL,
          'deliver',
          { cert: h.cert, binding: r.binding },
          {
            kind,
            timeoutMs: w.init.payTimeoutMs
          }
        )
        return { coin: h.coin, to: to.id, toAddrs: dialAddrs(to), seq: h.seq, ack }
      })
    },
    /** Deposits a coin already transferred, with its old binding, into this node's purse. */
    'POST /double-deposit': async b => {
      const w = svc.w
      const h = passedOn(w, b.coin)
      const kind = 'whopay-deposit'
      const purse = await purseKey(w)
      const body = { coin: h.coin, gen: h.gen, seq: h.seq, purse, at: Date.now() }
      const request = await signHolder(w, h.seed, TAG.deposit, body, kind)
      const args = { cert: h.cert, binding: h.binding, request }
      return await asHolder(
        w,
        async anon => await anon.call(w.c.broker, LEDGER_PROTOCOL, 'deposit', args, { kind, timeoutMs: 60_000 })
      )
    }
  }
}
