// The file market end to end with every party a real process: the broker (with
// its accounting centre), the TTP, the judge and the nodes, started through the
// CLI on 127.0.0.1 (test/helpers/fairex.ts). Honest sales in both forms, the
// paper's attack on both (a provider started with --allow-cheats seals a garbage
// K' in Z), a downloader who lies to the judge (a libp2p peer in this process),
// and a shared file changed on disk. Every scenario checks who was convicted or
// banned, that no honest party lost value (broker balances and certificate
// escrow before and after), and the broker's conservation audit. The refusals
// of the AC and the providers are in fairex-refusals.test.ts, the crashes in
// fairex-crash.test.ts, disputes under stress in fairex-disputes.test.ts.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, writeSync } from 'node:fs'
import { sha256Hex, toB64, toHex } from '@p2pay/core'
import { FAIREX_PROTOCOL, complaint, onKey, signRequest } from '@p2pay/fairex'
import { ApiError, Daemon, waitFor } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'
import {
  FEE,
  PRICE,
  assemble,
  buy,
  certificateFor,
  logCount,
  purchaseOf,
  rawBuy,
  saleOf,
  sha256File,
  snOf,
  verifier,
  useMarket
} from './helpers/fairex.ts'

const m = useMarket('fairex', { P: [], C: ['--allow-cheats', '--sale-form', 'original'], D: [], E: [] })
const { bal, certsOf, value, chequeOf, judgeBans, holds, share, outPath, client } = m
let broker: Daemon, ttp: Daemon, judge: Daemon, P: Daemon, C: Daemon, D: Daemon, E: Daemon
let L: RawPeer
before(async () => {
  await m.ready
  ;({ broker, ttp, judge, L } = m)
  ;({ P, C, D, E } = m.nodes)
})

const PIECE = 256 * 1024

async function rejectsApi(p: Promise<unknown>, code: string, message?: RegExp): Promise<ApiError> {
  let caught: unknown
  await assert.rejects(p, (err: unknown) => {
    caught = err
    return err instanceof ApiError && err.code === code && (message == null || message.test(err.message))
  })
  return caught as ApiError
}

/** Whether node `d`'s cheat module sealed K' in its sale of `fileId` to `downloader`. */
const cheatedIn = async (d: Daemon, downloader: string, fileId: string): Promise<boolean> =>
  (await d.api('GET', '/v1/fairex/cheat/sales')).sales.some(
    (s: any) => s.downloader === downloader && s.fileId === fileId
  )

test(
  '1a honest sale, fixed form: byte-identical file via the key; the deposit pays the price less the fee',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'film.bin')
    assert.equal((await P.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId).form, 'fixed')
    // D lists P's catalog over libp2p, page by page
    const listed = (await D.api('GET', `/v1/fairex/catalog?provider=${P.peerId}`)).files
    assert.equal(listed.filter((x: any) => x.fileId === f.fileId).length, 1)
    const before = {
      P: await bal(P.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      ac: await bal(broker.peerId)
    }

    const out = outPath('film.bin')
    const rec = await buy(D, P, f.fileId, out)
    assert.deepEqual([rec.status, rec.via, rec.price, rec.provider], ['done', 'key', PRICE, P.peerId])
    assert.equal(await sha256File(out), f.sha, 'the file D has is the file P shared')
    // the price left D's balance for the certificate's escrow: D owns as much as before until P deposits
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv)
    assert.equal((await saleOf(P, D.peerId, f.fileId)).status, 'paid')

    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn, r.price]),
      [['paid', D.peerId, snOf(rec.serial), PRICE]]
    )
    assert.deepEqual([dep.paid, dep.fee], [PRICE, FEE])
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.equal(await bal(broker.peerId), before.ac + FEE, 'the fee goes to the AC')
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv - PRICE, "D's escrow paid P")
    assert.equal((await chequeOf(P.peerId, D.peerId, snOf(rec.serial))).status, 'paid')
    // nothing more to deposit, nobody convicted
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
    assert.equal(await bal(P.peerId), before.P + PRICE - FEE)
    assert.deepEqual(await judgeBans(), [])
    await holds()
  }
)

test('1b honest sale, original form (provider started with --sale-form original)', { timeout: 60_000 }, async () => {
  const f = await share(C, 'song.bin', { size: 2 * 1024 * 1024 + 4321 })
  assert.equal((await C.api('GET', '/v1/fairex/files')).files.find((x: any) => x.fileId === f.fileId).form, 'original')
  const before = { C: await bal(C.peerId), D: await bal(D.peerId), Dv: await value(D.peerId) }
  const out = outPath('song.bin')
  const rec = await buy(D, C, f.fileId, out, 'original') // a buyer takes the original form only when asked to
  assert.deepEqual([rec.status, rec.via], ['done', 'key'])
  assert.equal(await sha256File(out), f.sha)
  const dep = await C.api('POST', '/v1/fairex/deposit')
  assert.deepEqual(
    dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
    [['paid', D.peerId, snOf(rec.serial)]]
  )
  assert.equal(await bal(C.peerId), before.C + PRICE - FEE)
  assert.equal(await bal(D.peerId), before.D - PRICE)
  assert.equal(await value(D.peerId), before.Dv - PRICE)
  assert.deepEqual(await judgeBans(), [])
  await holds()
})

test(
  "3 the paper's attack on the original protocol: K' in Z; D has no file, the TTP hands out K', P " +
    'is paid, nobody is banned',
  { timeout: 60_000 },
  async () => {
    const f = await share(C, 'bait.bin', { form: 'original', cheat: true })
    const before = {
      C: await bal(C.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      verdicts: (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.length
    }
    const out = outPath('bait.bin')
    const rec = await buy(D, C, f.fileId, out, 'original') // a buyer takes the original form only when asked to
    assert.deepEqual([rec.status, rec.via], ['failed', 'ttp'], JSON.stringify(rec))
    assert.equal(existsSync(out), false, 'D has no file')
    assert.equal(await cheatedIn(C, D.peerId, f.fileId), true)
    const dispute = (await ttp.api('GET', '/v1/fairex/disputes')).disputes.find(
      (d: any) => d.downloader === D.peerId && d.chequeSn === snOf(rec.serial)
    )
    assert.equal(dispute?.form, 'original', "the TTP resolved it, with K'")
    // the original cheque binds no request: there is nothing D can take to the judge
    await rejectsApi(D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) }), 'NOT_FOUND')

    const dep = await C.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader, r.chequeSn]),
      [['paid', D.peerId, snOf(rec.serial)]]
    )
    assert.equal(await bal(C.peerId), before.C + PRICE - FEE, 'the cheater is paid')
    assert.equal(await value(D.peerId), before.Dv - PRICE, 'the downloader paid for nothing: the flaw')
    assert.deepEqual(await judgeBans(), [])
    assert.deepEqual((await D.api('GET', '/v1/fairex/bans')).bans, [])
    assert.equal((await judge.api('GET', '/v1/fairex/verdicts')).verdicts.length, before.verdicts)
    await holds()
  }
)

test(
  '4 the same attack on the fixed protocol: providerBan, the cheque ' +
    'voided, D refunded, the deposit refused, nobody buys from the banned ' +
    'provider',
  { timeout: 60_000 },
  async () => {
    const f = await share(C, 'bait2.bin', { form: 'fixed', cheat: true })
    const before = {
      C: await bal(C.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      E: await bal(E.peerId),
      Ev: await value(E.peerId)
    }
    const out = outPath('bait2.bin')
    const rec = await buy(D, C, f.fileId, out)
    assert.deepEqual([rec.status, rec.via, rec.ruling], ['refunded', 'judge', 'providerBan'], JSON.stringify(rec))
    assert.equal(existsSync(out), false)
    assert.deepEqual(await judgeBans(), [C.peerId], 'the judge banned the provider, and only it')
    const verdict = (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.find(
      (v: any) => v.chequeSn === snOf(rec.serial)
    )
    assert.deepEqual(
      [verdict.ruling, verdict.reason, verdict.provider, verdict.downloader],
      ['providerBan', 'wrongKey', C.peerId, D.peerId]
    )

    // the judge's void reaches the AC: D's escrow for this cheque comes back
    await waitFor("D's refund", async () => (await bal(D.peerId)) === before.D, 15_000)
    const cheque = await chequeOf(C.peerId, D.peerId, snOf(rec.serial))
    assert.deepEqual(
      [cheque.status, cheque.void.from, cheque.void.refunded, cheque.void.shortfall],
      ['void', 'escrow', PRICE, 0]
    )
    assert.equal(await value(D.peerId), before.Dv, 'D lost nothing')

    // the cheater's deposit of that cheque is refused, and costs it nothing
    const dep = await C.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.code]),
      [['refused', 'FRAUD']]
    )
    assert.deepEqual([dep.paid, dep.fee], [0, 0])
    assert.equal(await bal(C.peerId), before.C)
    assert.deepEqual(
      await C.api('POST', '/v1/fairex/deposit'),
      { paid: 0, fee: 0, results: [] },
      'the refused cheque left the queue'
    )

    // D holds the ban; E learns it from the judge: neither buys from C, and no escrow is taken for trying
    assert.deepEqual(
      (await D.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer),
      [C.peerId]
    )
    const honest = await share(C, 'honest-after-ban.bin', { form: 'fixed' })
    await rejectsApi(buy(D, C, honest.fileId, outPath('x')), 'FRAUD')
    await rejectsApi(buy(E, C, honest.fileId, outPath('y')), 'FRAUD')
    assert.equal(await bal(E.peerId), before.E)
    assert.equal(await value(E.peerId), before.Ev)
    assert.equal(await value(D.peerId), before.Dv)
    assert.deepEqual(
      (await C.api('GET', '/v1/fairex/sales')).sales.filter((s: any) => s.fileId === honest.fileId),
      [],
      'C sold nothing'
    )
    await holds()
  }
)

test(
  '4b a banned peer cannot buy either: a provider that has not bought ' +
    'anything since the ban still refuses to sell to it',
  { timeout: 60_000 },
  async () => {
    assert.deepEqual(await judgeBans(), [C.peerId], 'runs after test 4')
    const f = await share(P, 'for-the-banned.bin', { size: 2 * 1024 * 1024 + 99 })
    const before = { P: await bal(P.peerId) }
    try {
      await rejectsApi(buy(C, P, f.fileId, outPath('banned-buys.bin')), 'FRAUD', /banned/)
      assert.equal(await saleOf(P, C.peerId, f.fileId), undefined)
    } finally {
      // whatever happened, P's queue is emptied so later tests start clean
      await P.api('POST', '/v1/fairex/deposit')
    }
    assert.equal(await bal(P.peerId), before.P)
    await holds()
  }
)

test(
  "5 a lying downloader shows the judge REQ' (another file): invalidComplain, P keeps its money and is not banned",
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'lie.bin')
    const before = {
      P: await bal(P.peerId),
      L: await bal(L.peerId),
      D: await bal(D.peerId),
      verdicts: (await judge.api('GET', '/v1/fairex/verdicts')).verdicts.length
    }
    // L buys from the provider daemon over the sale protocol and keeps the evidence
    const cert = await certificateFor(L, broker.addr, broker.peerId, PRICE)
    const p = await rawBuy({
      peer: L,
      verifier,
      providerAddr: P.addr,
      provider: P.peerId,
      fileId: f.fileId,
      price: PRICE,
      manifestHash: f.manifest,
      ttp: ttp.peerId,
      judge: judge.peerId,
      certificate: cert.certificate
    })
    const honestComp = complaint(p.state)
    // REQ': L's signature over the same sale for another file
    const reqPrime = signRequest(L.key.signer, { ...p.state.req.body, fileId: toHex(randomBytes(32)) })
    const judgeL = client(L, judge, FAIREX_PROTOCOL.judge)
    const v = await judgeL.call<any>('complain', { comp: { ...honestComp, request: toB64(reqPrime.bytes) } })
    assert.deepEqual([v.ruling, v.reason, v.ban], ['invalidComplain', 'otherRequest', undefined])
    // the first verdict on a cheque is final: the same cheque with the true REQ gets it again
    const again = await judgeL.call<any>('complain', { comp: honestComp })
    assert.deepEqual([again.hash, again.ruling, again.reason], [v.hash, 'invalidComplain', 'otherRequest'])
    // (and L had the whole file all along: P's key opens the key piece)
    const k = onKey(p.state, p.key)
    assert.ok(k.ok)
    assert.equal(sha256Hex(assemble(p, k.keyPiece)), f.sha)

    // a node that complains about a good key: invalidComplain, and the verdict carries K
    const rec = await buy(D, P, f.fileId, outPath('lie.bin'))
    assert.equal(rec.status, 'done')
    const vd = await D.api('POST', '/v1/fairex/complain', { chequeSn: snOf(rec.serial) })
    assert.deepEqual([vd.ruling, vd.reason, vd.ban], ['invalidComplain', 'keyOpensPiece', undefined])
    assert.match(vd.key, /^[0-9a-f]{64}$/)

    // neither complaint touched P: both cheques are paid in one batch, nobody is banned
    const dep = await P.api('POST', '/v1/fairex/deposit')
    assert.deepEqual(
      dep.results.map((r: any) => [r.status, r.downloader]).sort(),
      [
        ['paid', D.peerId],
        ['paid', L.peerId]
      ].sort()
    )
    assert.deepEqual([dep.paid, dep.fee], [2 * PRICE, FEE])
    assert.equal(await bal(P.peerId), before.P + 2 * PRICE - FEE)
    assert.equal(await bal(L.peerId), before.L - PRICE)
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.ok(!(await judgeBans()).includes(P.peerId))
    const verdicts = (await judge.api('GET', '/v1/fairex/verdicts')).verdicts
    assert.equal(verdicts.length, before.verdicts + 2)
    assert.ok(verdicts.every((x: any) => x.provider !== P.peerId || x.ruling === 'invalidComplain'))
    await holds()
  }
)

test(
  '6 a shared file changed on disk: the provider refuses to send the ' +
    'changed piece; D signs nothing, pays nothing, the purchase fails',
  { timeout: 60_000 },
  async () => {
    const f = await share(P, 'changed.bin')
    // 64 bytes inside piece 5 change after sharing; the size stays the same
    const fd = openSync(f.path, 'r+')
    writeSync(fd, randomBytes(64), 0, 64, 5 * PIECE + 1000)
    closeSync(fd)
    // cheques P is owed from earlier sales (some reach it through the TTP once disputes are retried) are settled first
    await P.api('POST', '/v1/fairex/deposit')
    const before = {
      P: await bal(P.peerId),
      D: await bal(D.peerId),
      Dv: await value(D.peerId),
      dCerts: (await certsOf(D.peerId)).length,
      cheques: (await broker.api('GET', '/v1/fairex/cheques')).cheques.length
    }
    const out = outPath('changed.bin')
    await assert.rejects(buy(D, P, f.fileId, out), (err: unknown) => err instanceof ApiError)
    const rec = await purchaseOf(D, f.fileId)
    assert.equal(rec.status, 'failed', JSON.stringify(rec))
    assert.equal(rec.via, undefined)
    assert.equal(existsSync(out), false)
    // the refusal is P's own check (pieceToSend), before the piece left
    assert.ok(logCount(P, 'sale ended early', 'piece does not match the file id') >= 1, P.logTail())
    assert.equal((await saleOf(P, D.peerId, f.fileId)).status, 'sending', 'P made no cheque')
    assert.deepEqual(await P.api('POST', '/v1/fairex/deposit'), { paid: 0, fee: 0, results: [] })
    // P reserved the price before its first piece; no cheque followed: the sale stays a reservation
    const cheques = (await broker.api('GET', '/v1/fairex/cheques')).cheques
    assert.equal(cheques.length, before.cheques + 1, 'only the reservation reached the AC')
    const sale = await chequeOf(P.peerId, D.peerId, snOf(rec.serial))
    assert.deepEqual([sale.status, sale.price, sale.hash, sale.deposited], ['reserved', PRICE, undefined, undefined])
    assert.equal(await bal(P.peerId), before.P)
    // what D observes: the certificate it got for this purchase still escrows the price (released only at its expiry,
    // 30 days)
    const certs = await certsOf(D.peerId)
    assert.equal(certs.length, before.dCerts + 1)
    const cert = certs.sort((a, b) => b.issuedAt - a.issuedAt)[0]
    assert.equal(sale.certificate, cert.hash)
    assert.deepEqual(
      [cert.max, cert.escrow, cert.reserved, cert.held, cert.paid, cert.released],
      [PRICE, PRICE, PRICE, 0, 0, undefined]
    )
    assert.equal(await bal(D.peerId), before.D - PRICE)
    assert.equal(await value(D.peerId), before.Dv, 'balance + escrow unchanged: D lost nothing')
    const bans = await judgeBans()
    assert.ok(!bans.includes(P.peerId) && !bans.includes(D.peerId), 'neither P nor D is banned')
    await holds()
  }
)
