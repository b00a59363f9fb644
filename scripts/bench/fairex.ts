// The file-market benchmark: one large sale against a raw stream between the same
// nodes, resident memory during it, small sales one after another, deposits at
// the AC, and the Table I counts per sale.
import { randomBytes } from 'node:crypto'
import { Swarm, type Daemon } from '../lib/swarm.ts'
import { json, say, int, kindCounts } from './common.ts'

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const { open } = await import('node:fs/promises')
  const fh = await open(path, 'w')
  try {
    for (let left = bytes; left > 0; left -= 4 * 2 ** 20) await fh.write(randomBytes(Math.min(left, 4 * 2 ** 20)))
  } finally {
    await fh.close()
  }
}

export async function fairex(): Promise<void> {
  const bigMiB = int('mib', 256)
  const small = int('sales', 200)
  const { join } = await import('node:path')
  const { createHash } = await import('node:crypto')
  const { createReadStream } = await import('node:fs')
  say(
    'File market benchmark: broker, TTP, judge and two nodes as processes on 127.0.0.1; ' +
      `a ${bigMiB} MiB sale, ${small} small sales`
  )
  const swarm = new Swarm('bench-fairex')
  try {
    const { broker, ttp, judge, nodeArgs } = await swarm.startMarket()
    // --diag: the raw stream baseline below needs the probe on both ends
    const [P, D] = await swarm.startNodes(2, [...nodeArgs, '--diag'])
    const all = [broker, ttp, judge, P, D]
    await broker.api('POST', '/v1/topup', { account: D.peerId, amount: 10_000_000 })
    const paddr = P.addr.slice(0, P.addr.indexOf('/p2p/'))
    const sha = async (path: string): Promise<string> =>
      await new Promise((resolve, reject) => {
        const h = createHash('sha256')
        createReadStream(path)
          .on('data', c => h.update(c))
          .on('end', () => resolve(h.digest('hex')))
          .on('error', reject)
      })

    // raw stream between the same two nodes, same framing (256 KiB frames)
    const raw = await D.api('POST', '/v1/diag/stream', { to: P.addr, bytes: bigMiB * 2 ** 20 })
    const big = join(swarm.dir, 'big.bin')
    await writeRandomFile(big, bigMiB * 2 ** 20)
    const shared = await P.api('POST', '/v1/fairex/share', { path: big, price: 10 })
    // resident memory of both ends, sampled during the sale: it must not grow with the file
    const rss = async (d: Daemon): Promise<number> =>
      Number(/^p2pay_process_resident_memory_bytes (\d+)$/m.exec(await d.api('GET', '/metrics'))?.[1] ?? 0)
    const peak = { P: await rss(P), D: await rss(D) }
    const base = { ...peak }
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak.P = Math.max(peak.P, await rss(P))
        peak.D = Math.max(peak.D, await rss(D))
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
    const t0 = performance.now()
    const bought = await D.api('POST', '/v1/fairex/buy', {
      provider: P.peerId,
      addrs: [paddr],
      fileId: shared.fileId,
      out: join(swarm.dir, 'big.out')
    })
    const saleMs = performance.now() - t0
    sampling = false
    await sampler
    const mib = (n: number): number => Math.round(n / 2 ** 20)
    const identical = bought.status === 'done' && (await sha(big)) === (await sha(join(swarm.dir, 'big.out')))
    const saleMiBs = Math.round((bigMiB / (saleMs / 1000)) * 10) / 10

    // small files: the per-sale cost of the protocol
    const smallFile = join(swarm.dir, 'small.bin')
    await writeRandomFile(smallFile, 4096)
    const s = await P.api('POST', '/v1/fairex/share', { path: smallFile, price: 1, pieceSize: 16384 })
    await D.api('POST', '/v1/fairex/buy', {
      provider: P.peerId,
      addrs: [paddr],
      fileId: s.fileId,
      out: join(swarm.dir, 'warm.out')
    })
    const saleKinds = ['fairex-sale', 'fairex-request', 'fairex-cheque', 'fairex-manifest']
    const k0 = await kindCounts(all, saleKinds)
    const c0 = await kindCounts(all, ['fairex-cert'])
    const r0 = await kindCounts(all, ['fairex-reserve'])
    const t1 = performance.now()
    let ok = 0
    for (let i = 0; i < small; i++) {
      const r = await D.api('POST', '/v1/fairex/buy', {
        provider: P.peerId,
        addrs: [paddr],
        fileId: s.fileId,
        out: join(swarm.dir, `s${i % 4}.out`)
      })
      if (r.status === 'done') ok++
    }
    const smallMs = performance.now() - t1
    const k1 = await kindCounts(all, saleKinds)
    const c1 = await kindCounts(all, ['fairex-cert'])
    const r1 = await kindCounts(all, ['fairex-reserve'])
    const per = (a: number, b: number): number => Math.round(((b - a) / small) * 100) / 100

    // deposits at the AC: everything the provider collected, in batches
    const pending = (await P.api('GET', '/v1/fairex/sales')).pendingDeposits
    const t2 = performance.now()
    let deposited = 0
    for (let i = 0; i < 20; i++) {
      const r = await P.api('POST', '/v1/fairex/deposit', {})
      // fixed-form cheques are held for the broker's complaint window: settled, paid later
      const n = r.results.filter((x: any) => x.status === 'paid' || x.status === 'held').length
      deposited += n
      if (r.results.length === 0) break
    }
    const depMs = performance.now() - t2
    const audit = await broker.api('GET', '/v1/audit')
    const result = {
      scheme: 'fairex',
      sale: {
        mib: bigMiB,
        ms: Math.round(saleMs),
        mibPerSecond: saleMiBs,
        identical,
        via: bought.via,
        rssMiB: {
          providerBefore: mib(base.P),
          providerPeak: mib(peak.P),
          downloaderBefore: mib(base.D),
          downloaderPeak: mib(peak.D)
        }
      },
      rawStream: raw,
      saleVsRaw: Math.round((saleMiBs / raw.mibPerSecond) * 100) / 100,
      smallSales: {
        count: small,
        done: ok,
        ms: Math.round(smallMs),
        perSecond: Math.round((ok / (smallMs / 1000)) * 10) / 10
      },
      deposits: {
        cheques: deposited,
        pending,
        ms: Math.round(depMs),
        perSecond: Math.round(deposited / (depMs / 1000))
      },
      conservation: audit.holds,
      tableI: {
        paper: { messages: 7, generated: 3, verified: 4 },
        measuredPerSale: {
          messages: per(k0.messages, k1.messages),
          generated: per(k0.generated, k1.generated),
          verified: per(k0.verified, k1.verified)
        },
        certificatePerSale: {
          messages: per(c0.messages, c1.messages),
          generated: per(c0.generated, c1.generated),
          verified: per(c0.verified, c1.verified)
        },
        reservationPerSale: {
          messages: per(r0.messages, r1.messages),
          generated: per(r0.generated, r1.generated),
          verified: per(r0.verified, r1.verified)
        }
      },
      targets: { saleVsRaw: 0.8 }
    }
    if (json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n')
      return
    }
    const row = (k: string, v: string): void => say(`  ${k.padEnd(44)} ${v}`)
    say('')
    row(
      `sale of ${bigMiB} MiB (fixed form)`,
      `${saleMiBs} MiB/s (${result.sale.ms} ms, byte-identical: ${identical}, key via ${bought.via})`
    )
    row(
      'resident memory during the sale (MiB)',
      `provider ${mib(base.P)} -> peak ${mib(peak.P)}, downloader ${mib(base.D)} -> peak ${mib(peak.D)}`
    )
    row(
      'raw libp2p stream, same nodes and framing',
      `${raw.mibPerSecond} MiB/s  -> sale/raw = ${result.saleVsRaw} (target >= 0.8)`
    )
    row(
      'small-file sales/s (4 KiB, one after another)',
      `${result.smallSales.perSecond}  (${ok}/${small} in ${result.smallSales.ms} ms)`
    )
    row(
      'deposits/s at the AC (batches of 256)',
      `${result.deposits.perSecond}  (${deposited} cheques in ${result.deposits.ms} ms; ` +
        `conservation ${audit.holds ? 'holds' : 'BROKEN'})`
    )
    say('')
    say('  Table I, file-market row              messages  sig. gen.  sig. ver.')
    say('    paper                                      7          3          4')
    const m = result.tableI.measuredPerSale
    say(
      `    measured per sale (1.1 .. 2.4)    ${String(m.messages).padStart(10)} ` +
        `${String(m.generated).padStart(10)} ${String(m.verified).padStart(10)}`
    )
    const c = result.tableI.certificatePerSale
    say(
      `    + capital certificate per sale    ${String(c.messages).padStart(10)} ` +
        `${String(c.generated).padStart(10)} ${String(c.verified).padStart(10)}`
    )
    const v = result.tableI.reservationPerSale
    say(
      `    + reservation at the AC per sale  ${String(v.messages).padStart(10)} ` +
        `${String(v.generated).padStart(10)} ${String(v.verified).padStart(10)}`
    )
  } finally {
    await swarm.stopAll()
  }
}
