// The demo's file market part: an honest sale with its progress, then the
// survey's attack on Zuo and Li's scheme (the provider seals a garbage key
// K' for the TTP) ending, in the fixed form, with the judge's ban and the
// downloader's refund.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, type Daemon } from '../lib/swarm.ts'
import { heading, line, name, progressBar, sleep } from './show.ts'

const PRICE = 25
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
/** What a peer owns at the broker: its balance and what its capital certificates still hold in escrow. */
async function balance(broker: Daemon, d: Daemon): Promise<number> {
  const bal = (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance
  const certs = (await broker.api('GET', '/v1/fairex/certificates')).certificates
  return bal + certs.filter((c: any) => c.peer === d.peerId).reduce((n: number, c: any) => n + c.escrow, 0)
}

/** A file of `size` random bytes in `dir`, shared by `seller` (dishonestly with `cheat`). */
async function share(seller: Daemon, dir: string, file: string, size: number, cheat = false): Promise<any> {
  const path = join(dir, file)
  const data = randomBytes(size)
  writeFileSync(path, data)
  const route = cheat ? '/v1/fairex/cheat/share' : '/v1/fairex/share'
  const r = await seller.api('POST', route, { path, price: PRICE, name: file })
  return { fileId: r.fileId, sha: sha256(data) }
}

/** Buys `fileId`, drawing the downloader's progress while the pieces come in. */
async function buyWithProgress(buyer: Daemon, seller: Daemon, fileId: string, out: string): Promise<any> {
  const bar = progressBar(`${name(buyer.peerId)} <- ${name(seller.peerId)}`)
  let done = false
  const sale = buyer.api('POST', '/v1/fairex/buy', { provider: seller.addr, fileId, out }).finally(() => {
    done = true
  })
  let total = 0
  while (!done) {
    const p = (await buyer.api('GET', '/v1/fairex/purchases')).progress.find((x: any) => x.provider === seller.peerId)
    if (p != null) {
      total = p.total
      bar.update(p.received, p.total)
    }
    await sleep(50)
  }
  try {
    const rec = await sale
    bar.update(total, total)
    return rec
  } finally {
    bar.end()
  }
}

export async function fairexDemo(
  m: { broker: Daemon; judge: Daemon; dir: string },
  seller: Daemon,
  buyer: Daemon,
  cheater: Daemon,
  victim: Daemon
): Promise<void> {
  const { broker, judge, dir } = m
  heading(
    `File market 1. ${name(seller.peerId)} sells a 6 MiB file to ${name(buyer.peerId)} (fixed form, with a judge)`
  )
  const f = await share(seller, dir, 'report.pdf', 6 * 1024 * 1024 + 4321)
  const out = join(dir, 'bought-report.pdf')
  const before = await balance(broker, buyer)
  const rec = await buyWithProgress(buyer, seller, f.fileId, out)
  const ok = sha256(readFileSync(out)) === f.sha
  line(
    `  ${name(buyer.peerId)} has the file (sha256 ${ok ? 'matches' : 'DIFFERS'}), sale ${rec.status}; ` +
      `paid ${before - (await balance(broker, buyer))} from its capital certificate's escrow`
  )
  if (!ok) throw new Error('file market: the bought file differs from the one shared')
  const dep = await seller.api('POST', '/v1/fairex/deposit')
  line(
    `  ${name(seller.peerId)} deposits its cheque at the accounting centre: ` +
      dep.results.map((r: any) => r.status).join(', ')
  )

  heading(`File market 2. the attack: ${name(cheater.peerId)} seals a garbage key K' for the TTP`)
  const g = await share(cheater, dir, 'bait.iso', 1024 * 1024 + 77, true)
  const victimBefore = await balance(broker, victim)
  try {
    await victim.api('POST', '/v1/fairex/buy', { provider: cheater.addr, fileId: g.fileId, out: join(dir, 'bait') })
    throw new Error('file market: a sale with a garbage key went through')
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    line(
      `  ${name(victim.peerId)}'s purchase failed: ${err.code} (the key from the provider and the TTP opens nothing)`
    )
  }
  const purchase = (await victim.api('GET', '/v1/fairex/purchases')).purchases.find((p: any) => p.fileId === g.fileId)
  const chequeSn = String(purchase.serial).slice(String(purchase.serial).indexOf('|') + 1)
  const v = await victim.api('POST', '/v1/fairex/complain', { chequeSn })
  line(`  ${name(victim.peerId)} complains to the judge with its evidence: ruling ${v.ruling} (${v.reason})`)
  let refunded = false
  for (let i = 0; i < 100 && !refunded; i++) {
    refunded = (await balance(broker, victim)) === victimBefore
    if (!refunded) await sleep(100)
  }
  const bans = (await judge.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer)
  line(
    `  the judge banned ${bans.map(name).join(', ') || 'nobody'}; ${name(victim.peerId)} ` +
      (refunded ? `got its ${PRICE} back (the cheque was voided)` : 'is still waiting for its refund')
  )
  const cheat = await cheater.api('POST', '/v1/fairex/deposit')
  line(
    `  ${name(cheater.peerId)} tries to deposit the cheque anyway: ` +
      cheat.results.map((r: any) => `${r.status}${r.code != null ? ` ${r.code}` : ''}`).join(', ')
  )
  if (!bans.includes(cheater.peerId) || !refunded)
    throw new Error('file market: the cheater was not banned or the victim not refunded')
}
