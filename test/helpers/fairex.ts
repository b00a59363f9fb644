// Helpers for the file market's integration tests: a market (broker, TTP, judge
// and nodes as processes, two libp2p peers in this one) started before a test
// file and stopped after it, the reads of its control APIs, random files, and
// the parties of a sale played in this process (a downloader speaking the sale
// protocol frame by frame to a real provider, in raw-sale.ts, or both sides of
// a sale with no stream), so a test can keep the key, replay 1.1, seal K' or
// lie to the judge.
import { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { RpcClient, Verifier, fromB64, nodeEd25519, randomId, sha256Hex, toB64, toHex } from '@p2pay/core'
import {
  acceptRequest,
  chequeMessage,
  merkleRoot,
  onAccept,
  onCheque,
  onChequeAccepted,
  onKey,
  onPiece,
  pieceHash,
  pieceToSend,
  signDepositRequest,
  signManifest,
  signRequest,
  type DepositItem,
  type DepositResult,
  type Message1_1,
  type Purchase,
  type PurchaseRecord,
  type SaleForm
} from '@p2pay/fairex'
import { cheatingCheque } from '@p2pay/fairex/cheats'
import { Daemon, Swarm, audit } from './swarm.ts'
import { RawPeer } from './raw-peer.ts'
import { acCall, rawRequest, reserveAt } from './raw-sale.ts'

export const verifier = new Verifier(nodeEd25519())
export const PRICE = 25
export const FEE = 1
export const TOPUP = 1000
export const MAX_CERT = 1000
/** 3 MiB and a bit: 13 pieces, the last one short */
export const SIZE = 3 * 1024 * 1024 + 12_345

/** Writes `size` random bytes to `path`; returns their sha256 (hex). */
export function randomFile(path: string, size: number): string {
  const data = randomBytes(size)
  writeFileSync(path, data)
  return createHash('sha256').update(data).digest('hex')
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

export * from './raw-sale.ts'

/** The nodes a market starts, by name, with their flags beyond the common ones. */
export type NodeFlags = Record<string, string[]>

/**
 * A market whose AC pays a deposit at once (--proceeds-hold-s 0) and whose
 * nodes deposit only when told to (--auto-deposit-s 0): every test says when a
 * provider is paid. L (a downloader) and R (a provider) are peers in this process.
 */
export class FairexMarket {
  readonly swarm: Swarm
  broker!: Daemon
  ttp!: Daemon
  judge!: Daemon
  readonly nodes: Record<string, Daemon> = {}
  L!: RawPeer
  R!: RawPeer
  filesDir = ''
  /** raw peers a test starts for itself */
  readonly extraPeers: RawPeer[] = []
  private readonly clients: RpcClient[] = []

  constructor(name: string) {
    this.swarm = new Swarm(name)
  }

  /** resolves once the market's processes run (see useMarket) */
  ready: Promise<void> = Promise.resolve()

  async start(nodes: NodeFlags): Promise<void> {
    const m = await this.swarm.startMarket(
      ['--deposit-fee', String(FEE), '--max-cert-value', String(MAX_CERT), '--proceeds-hold-s', '0'],
      ['--retry-interval-ms', '200']
    )
    ;({ broker: this.broker, ttp: this.ttp, judge: this.judge } = m)
    const common = ['--broker', m.broker.addr, '--owner-timeout-ms', '2000', '--retry-interval-ms', '1000']
    const started = Object.entries(nodes).map(
      ([name, flags]) =>
        new Daemon('node', join(this.swarm.dir, name), [...common, '--auto-deposit-s', '0', ...m.nodeArgs, ...flags])
    )
    this.swarm.nodes.push(...started)
    await Promise.all(started.map(async n => await n.start(60_000)))
    Object.keys(nodes).forEach((name, i) => (this.nodes[name] = started[i]))
    ;[this.L, this.R] = await Promise.all([RawPeer.start(), RawPeer.start()])
    for (const id of [...started.map(n => n.peerId), this.L.peerId, this.R.peerId])
      await this.broker.api('POST', '/v1/topup', { account: id, amount: TOPUP })
    this.filesDir = join(this.swarm.dir, 'files')
    mkdirSync(this.filesDir)
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.clients.map(async c => await c.close()))
    await Promise.allSettled([this.L, this.R, ...this.extraPeers].filter(Boolean).map(async p => await p.stop()))
    await this.swarm.stopAll()
  }

  /** An RPC client from a peer of this process to a daemon, closed when the market stops. */
  readonly client = (peer: RawPeer, d: Daemon, protocol: string): RpcClient => {
    const c = new RpcClient(peer.node, multiaddr(d.addr), protocol, { defaultTimeoutMs: 15_000 })
    this.clients.push(c)
    return c
  }

  readonly bal = async (id: string, b: Daemon = this.broker): Promise<number> =>
    (await b.api('GET', `/v1/account?id=${id}`)).balance
  readonly certsOf = async (peer: string, b: Daemon = this.broker): Promise<any[]> =>
    (await b.api('GET', '/v1/fairex/certificates')).certificates.filter((c: any) => c.peer === peer)
  /** what a party owns at the broker: its balance plus what its certificates still hold in escrow */
  readonly value = async (peer: string): Promise<number> =>
    (await this.bal(peer)) + (await this.certsOf(peer)).reduce((n, c) => n + c.escrow, 0)
  /** The AC's record of one sale, keyed as the AC keys it: (provider, downloader, serial) */
  readonly chequeOf = async (provider: string, downloader: string, chequeSn: string, b = this.broker): Promise<any> =>
    (await b.api('GET', '/v1/fairex/cheques')).cheques.find(
      (c: any) => c.provider === provider && c.downloader === downloader && c.chequeSn === chequeSn
    )
  readonly judgeBans = async (): Promise<string[]> =>
    (await this.judge.api('GET', '/v1/fairex/bans')).bans.map((b: any) => b.peer)
  readonly holds = async (b: Daemon = this.broker): Promise<void> => {
    assert.equal((await audit(b)).holds, true, `audit: ${JSON.stringify(await audit(b))}`)
  }

  /** A random file of `size` bytes shared by `node` at PRICE (dishonestly with `cheat`: its cheat route). */
  readonly share = async (
    node: Daemon,
    name: string,
    opts: { size?: number; form?: SaleForm; cheat?: boolean } = {}
  ): Promise<{ fileId: string; path: string; sha: string; manifest: string }> => {
    const path = join(this.filesDir, `${randomId(4)}-${name}`)
    const sha = randomFile(path, opts.size ?? SIZE)
    const route = opts.cheat === true ? '/v1/fairex/cheat/share' : '/v1/fairex/share'
    const body = { path, price: PRICE, name, ...(opts.form != null ? { form: opts.form } : {}) }
    const r = await node.api('POST', route, body)
    return { fileId: r.fileId, path, sha, manifest: r.manifest }
  }

  readonly outPath = (name: string): string => join(this.filesDir, `out-${randomId(4)}-${name}`)

  /** A LocalSale (see localSale) with this market's TTP and judge. */
  readonly localSale = async (o: LocalSaleInput): Promise<LocalSale> =>
    await localSale(o, this.ttp.peerId, this.judge.peerId)
}

/** A market started before the tests of the file that calls this, and stopped after them. */
export function useMarket(name: string, nodes: NodeFlags): FairexMarket {
  const m = new FairexMarket(name)
  let started = (): void => {}
  m.ready = new Promise<void>(resolve => {
    started = resolve
  })
  // node:test runs a file's top-level hooks without waiting for one another: a file's own `before` awaits m.ready
  before(async () => {
    await m.start(nodes)
    started()
  })
  after(async () => await m.stop())
  return m
}

export const snOf = (serial: string): string => serial.slice(serial.indexOf('|') + 1)
export const purchaseOf = async (d: Daemon, fileId: string): Promise<PurchaseRecord> =>
  (await d.api('GET', '/v1/fairex/purchases')).purchases.find((p: PurchaseRecord) => p.fileId === fileId)
export const saleOf = async (d: Daemon, downloader: string, fileId: string): Promise<any> =>
  (await d.api('GET', '/v1/fairex/sales')).sales.find((s: any) => s.downloader === downloader && s.fileId === fileId)
export const logCount = (d: Daemon, ...parts: string[]): number =>
  readFileSync(d.dataDir + '.log', 'utf8')
    .split('\n')
    .filter(l => parts.every(p => l.includes(p))).length

export async function buy(
  d: Daemon,
  provider: Daemon | string,
  fileId: string,
  out: string,
  form?: SaleForm
): Promise<PurchaseRecord> {
  const body = { provider: typeof provider === 'string' ? provider : provider.addr, fileId, out }
  return await d.api('POST', '/v1/fairex/buy', { ...body, ...(form != null ? { form } : {}) })
}

// ---- both sides of a sale in this process ----

export interface LocalSaleInput {
  prov: RawPeer
  down: RawPeer
  /** the broker whose AC the provider reserves at */
  ac: { addr: string; peerId: string }
  certificate: string
  price: number
  chequeNow?: number
  chequeSn?: string
  garbageKey?: Uint8Array
  reserve?: boolean
}

export interface LocalSale {
  deposit: DepositItem
  chequeSn: string
  state: Purchase
  message1_1: Message1_1
}

/**
 * A whole fixed-form sale between two peers of this process (no stream), with
 * the provider's reservation at the AC of broker `ac` before any piece (the
 * AC's refusal is thrown): the deposit item and D's state. `chequeSn` makes D
 * sign its request with that serial; `garbageKey` makes the provider seal K' in
 * Z and send it as 2.4 (the paper's attack); `reserve: false` skips the reservation.
 */
export async function localSale(o: LocalSaleInput, ttp: string, judge: string): Promise<LocalSale> {
  const piece = 16 * 1024
  const data = new Uint8Array(randomBytes(3 * piece + 100))
  const pieces: Uint8Array[] = []
  for (let off = 0; off < data.byteLength; off += piece) pieces.push(data.subarray(off, off + piece))
  const hashes = pieces.map(pieceHash)
  const fileId = toHex(merkleRoot(hashes))
  const size = data.byteLength
  const input = { fileId, name: 'x.bin', size, pieceSize: piece, price: o.price, createdAt: Date.now() }
  const manifest = signManifest(o.prov.key.signer, input)
  const parties = { peer: o.down, provider: o.prov.peerId, ttp, judge }
  let { state, message1_1 } = rawRequest({ ...o, ...parties, verifier, fileId, form: 'fixed' })
  if (o.chequeSn != null) {
    // D signs the same request with the serial it chose (startPurchase draws a fresh one)
    const req = signRequest(o.down.key.signer, { ...state.req.body, chequeSn: o.chequeSn })
    state = { ...state, req }
    message1_1 = { ...message1_1, request: toB64(req.bytes) }
  }
  const accepted = acceptRequest({
    signer: o.prov.key.signer,
    verifier,
    manifest,
    pieceHashes: hashes,
    message1_1,
    ac: o.ac.peerId,
    judge,
    ttps: [ttp],
    form: 'fixed',
    now: Date.now(),
    maxSkewMs: 30_000
  })
  assert.ok('sale' in accepted, JSON.stringify(accepted))
  // as a provider daemon does: the price is reserved before the first piece (unless the test plays one that does not)
  if (o.reserve !== false) await reserveAt(o.prov, o.ac.addr, message1_1)
  onAccept(state, accepted.message1_2)
  pieces.forEach((plain, i) => onPiece(state, i, pieceToSend(accepted.sale, i, plain)))
  const now = o.chequeNow ?? Date.now()
  const m22 =
    o.garbageKey != null
      ? cheatingCheque(accepted.sale, { now, garbageKey: o.garbageKey })
      : chequeMessage(accepted.sale, { now })
  const { message2_4, deposit } = onChequeAccepted(accepted.sale, onCheque(state, m22))
  assert.equal(onKey(state, message2_4.key).ok, o.garbageKey == null)
  return { deposit, chequeSn: state.req.body.chequeSn, state, message1_1 }
}

/** A signed deposit request for `items` by `prov` at broker `b`; `send` may be called again with the same bytes. */
export function depositRequest(
  prov: RawPeer,
  b: { addr: string; peerId: string },
  items: DepositItem[],
  nonce = randomId(8)
): { send: () => Promise<DepositResult> } {
  const cheques = items.map(i => sha256Hex(fromB64(i.cheque)))
  const req = signDepositRequest(prov.key.signer, { ac: b.peerId, provider: prov.peerId, nonce, cheques })
  const args = { request: toB64(req.bytes), items }
  return { send: async () => await acCall<DepositResult>(prov, b.addr, 'deposit', args) }
}
