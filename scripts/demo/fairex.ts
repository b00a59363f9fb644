// The demo's file market part: an honest sale with its progress, then the
// survey's attack on Zuo and Li's scheme (the provider seals a garbage key
// K' for the TTP) ending, in the fixed form, with the judge's ban and the
// downloader's refund.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Daemon } from '../lib/swarm.ts'
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
  const rec = await buyWithProgress(buyer, seller, f.fileId, out)
  const ok = sha256(readFileSync(out)) === f.sha
  line(`  ${name(buyer.peerId)} has the file (sha256 ${ok ? 'matches' : 'DIFFERS'}), purchase ${rec.status}`)
  if (!ok) throw new Error('file market: the bought file differs from the one shared')
  const sellerBefore = await balance(broker, seller)
  const dep = await seller.api('POST', '/v1/fairex/deposit')
  line(
    `  ${name(seller.peerId)} deposits the cheque at the accounting centre: ` +
      `${dep.results.map((x: any) => x.status).join(', ')}, +${(await balance(broker, seller)) - sellerBefore} ` +
      `(the price ${PRICE} less the deposit fee)`
  )

  heading(`File market 2. the attack: ${name(cheater.peerId)} seals a garbage key K' for the TTP`)
  const g = await share(cheater, dir, 'bait.iso', 1024 * 1024 + 77, true)
  const victimBefore = await balance(broker, victim)
  let r = await victim.api('POST', '/v1/fairex/buy', {
    provider: cheater.addr,
    fileId: g.fileId,
    out: join(dir, 'bait')
  })
  line(`  the key ${name(victim.peerId)} got from ${name(cheater.peerId)} and then from the TTP opens nothing`)
  if (r.status !== 'refunded') {
    // the node takes its evidence to the judge on its own; asked again, the judge answers the same
    const chequeSn = String(r.serial).slice(String(r.serial).indexOf('|') + 1)
    r = { ...(await victim.api('POST', '/v1/fairex/complain', { chequeSn })).purchase }
  }
  line(`  ${name(victim.peerId)} took its evidence to the judge: ruling ${r.ruling}, purchase ${r.status}`)
  const bans = (await judge.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer)
  line(`  the judge banned ${bans.map(name).join(', ') || 'nobody'} and voided the cheque at the accounting centre`)
  const cheaterBefore = await balance(broker, cheater)
  const cheat = await cheater.api('POST', '/v1/fairex/deposit')
  line(
    `  ${name(cheater.peerId)} tries to deposit the cheque anyway: ` +
      cheat.results.map((x: any) => `${x.status}${x.code != null ? ` ${x.code}` : ''}`).join(', ')
  )
  const kept = (await balance(broker, victim)) === victimBefore
  const gained = (await balance(broker, cheater)) - cheaterBefore
  line(
    `  ${name(victim.peerId)} ${kept ? `keeps its ${PRICE} (refunded)` : 'LOST MONEY'}, ` +
      `${name(cheater.peerId)} gained ${gained}`
  )
  if (r.status !== 'refunded' || !bans.includes(cheater.peerId) || !kept || gained !== 0)
    throw new Error('file market: the cheater was not banned, or the victim not refunded, or the cheater was paid')
}
