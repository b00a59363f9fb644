// Shared fixtures for the PPay unit tests: Ed25519 identities, a broker ledger
// and wallets over in-memory tables, an injectable clock, and helpers to sign
// raw objects, snapshot tables and assert error codes.
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  nodeEd25519,
  signerFor,
  memoryTables,
  Verifier,
  toB64,
  fromB64,
  randomId,
  concat,
  utf8,
  type Signer
} from '@p2pay/core'
import { Ledger } from '../src/core/ledger.ts'
import type { CashResult, LedgerTables } from '../src/core/ledger-records.ts'
import { Wallet } from '../src/core/wallet.ts'
import {
  holdingKey,
  SPEND_MARGIN_MS,
  type WalletTables,
  type OwnedCoin,
  type Holding
} from '../src/core/wallet-records.ts'
import { LEDGER_TABLES, WALLET_TABLES } from '../src/net/tables.ts'
import {
  TAG,
  type AssignBody,
  type BuyBody,
  type CashBody,
  type ChainLink,
  type CoinProof,
  type RequestBody,
  type LayerBody
} from '../src/core/types.ts'
import { verifyProof, type ProofInfo } from '../src/core/verify.ts'

export const backend = nodeEd25519()
export const verifier = new Verifier(backend)

export const T0 = 1_700_000_000_000
/** Longer than the wallet's spend margin, so a fresh coin is offered for payment. */
export const COIN_TTL = 10 * SPEND_MARGIN_MS
export const CASH_GRACE = 30_000
export const MAX_LAYERS = 2

export class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

/** `seed` is kept so a test can sign bytes a Signer never would (non-canonical bodies). */
export interface Ident {
  signer: Signer
  id: string
  seed: Uint8Array
}

export async function ident(): Promise<Ident> {
  const key = await generateKeyPair('Ed25519')
  const signer = signerFor(key, backend)
  return { signer, id: signer.peerId, seed: key.raw.subarray(0, 32) }
}

export function ledgerTables(): LedgerTables {
  return memoryTables(LEDGER_TABLES)
}

export function walletTables(): WalletTables {
  return memoryTables(WALLET_TABLES)
}

export interface Party extends Ident {
  wallet: Wallet
}

export interface World {
  clock: Clock
  broker: Ident
  ledger: Ledger
  X: Party
  Y: Party
  Z: Party
  W: Party
}

export async function party(broker: string, clock: Clock): Promise<Party> {
  const id = await ident()
  return {
    ...id,
    wallet: new Wallet(walletTables(), id.signer, verifier, { broker, maxLayers: MAX_LAYERS, now: clock.now })
  }
}

/** A broker, an owner X and holders Y, Z, W, all on one clock. */
export async function world(): Promise<World> {
  const clock = new Clock()
  const broker = await ident()
  const ledger = new Ledger(ledgerTables(), broker.signer, verifier, {
    coinTtlMs: COIN_TTL,
    cashGraceMs: CASH_GRACE,
    maxLayers: MAX_LAYERS,
    maxCoinsPerBuy: 10,
    now: clock.now
  })
  const [X, Y, Z, W] = await Promise.all([
    party(broker.id, clock),
    party(broker.id, clock),
    party(broker.id, clock),
    party(broker.id, clock)
  ])
  return { clock, broker, ledger, X, Y, Z, W }
}

/** Signs any body with any tag: for objects a well-behaved wallet would never produce. */
export function sign<T>(who: Ident, tag: string, body: T): string {
  return toB64(who.signer.sign<T>(tag, body, 'test').bytes)
}

export function buyRequest(w: World, who: Ident, count: number, value: number, nonce = randomId(8)): string {
  return sign<BuyBody>(who, TAG.buy, { broker: w.broker.id, account: who.id, count, value, nonce })
}

/** Tops up (if asked), buys `count` coins of `value` and stores them in the owner's wallet. */
export function buyCoins(w: World, who: Party, count: number, value: number, topup = count * value): OwnedCoin[] {
  if (topup > 0) w.ledger.topup(who.id, topup)
  const nonce = randomId(8)
  const { coins } = w.ledger.buy(buyRequest(w, who, count, value, nonce))
  return who.wallet.addBoughtCoins(coins, nonce)
}

export function info(w: World, proof: CoinProof, allowExpired = true): ProofInfo {
  return verifyProof(verifier, proof, {
    broker: w.broker.id,
    now: w.clock.t,
    maxLayers: MAX_LAYERS,
    allowExpired,
    kind: 'test'
  })
}

/** A cash request signed by `who` for the tip of `proof` (whether or not `who` should sign it). */
export function cashFor(w: World, who: Ident, proof: CoinProof, over: Partial<CashBody> = {}): string {
  const i = info(w, proof)
  return sign<CashBody>(who, TAG.cash, {
    sn: i.sn,
    seq: i.seq,
    depth: i.depth,
    holder: who.id,
    broker: w.broker.id,
    prev: i.tipHash,
    ...over
  })
}

/** A reassignment request signed by `who` for the tip of `proof`. */
export function requestFor(
  w: World,
  who: Ident,
  proof: CoinProof,
  to: string,
  over: Partial<RequestBody> = {}
): string {
  const i = info(w, proof)
  return sign<RequestBody>(who, TAG.request, {
    sn: i.sn,
    owner: i.owner,
    seq: i.seq,
    from: who.id,
    to,
    prev: i.tipHash,
    ...over
  })
}

/** A layer signed by `who` on top of `proof`. */
export function layerFor(w: World, who: Ident, proof: CoinProof, to: string, over: Partial<LayerBody> = {}): CoinProof {
  const i = info(w, proof)
  const l = sign<LayerBody>(who, TAG.layer, {
    sn: i.sn,
    seq: i.seq,
    depth: i.depth + 1,
    from: who.id,
    to,
    prev: i.tipHash,
    ...over
  })
  return { ...proof, layers: [...(proof.layers ?? []), l] }
}

export const keyOf = (w: World, proof: CoinProof): string => holdingKey(info(w, proof))

/** Accepts a proof at `to` and returns its holding. */
export function accept(to: Party, proof: CoinProof, from: string): Holding {
  const r = to.wallet.accept(proof, from)
  assert.equal(r.duplicate, false)
  return r.holding
}

// ---- chains built by hand ----

/** The proof with its chain step `i` (0-based: seq i+1) changed. */
export function withLink(proof: CoinProof, i: number, patch: Partial<ChainLink>): CoinProof {
  const chain = [...(proof.chain ?? [])]
  chain[i] = { ...chain[i], ...patch }
  return { ...proof, chain }
}

/** The last link of a proof's chain. */
export const lastLink = (proof: CoinProof): ChainLink => proof.chain![proof.chain!.length - 1]

/**
 * One reassignment by hand: `from` signs a request to `to` for the tip of
 * `proof` and `by` (the owner, or the broker with the downtime tag) signs the
 * next assignment. `tip`/`seq` may be given to skip re-verifying long chains.
 */
export function step(
  w: World,
  proof: CoinProof,
  from: Ident,
  to: string,
  opts: { by?: Ident; tag?: string; tip?: { hash: string; seq: number; sn: string; owner: string; coin: string } } = {}
): { proof: CoinProof; request: string; tip: { hash: string; seq: number; sn: string; owner: string; coin: string } } {
  const t =
    opts.tip ??
    (() => {
      const i = info(w, proof)
      return { hash: i.tipHash, seq: i.seq, sn: i.sn, owner: i.owner, coin: i.coin.hash }
    })()
  const req = from.signer.sign<RequestBody>(
    TAG.request,
    { sn: t.sn, owner: t.owner, seq: t.seq, from: from.id, to, prev: t.hash },
    'test'
  )
  const a = (opts.by ?? w.X).signer.sign<AssignBody>(
    opts.tag ?? TAG.assign,
    { sn: t.sn, coin: t.coin, owner: t.owner, seq: t.seq + 1, holder: to, request: req.hash },
    'test'
  )
  const request = toB64(req.bytes)
  return {
    proof: { coin: proof.coin, chain: [...(proof.chain ?? []), { assign: toB64(a.bytes), request }] },
    request,
    tip: { ...t, hash: a.hash, seq: t.seq + 1 }
  }
}

/**
 * A genuine history of `n` steps, built by hand: X pays Y, then Y and Z hand
 * the coin back and forth through the owner. Returns the holder at seq `n`,
 * the other one, and the tip to build on.
 */
export function longChain(
  w: World,
  sn: string,
  n: number
): {
  proof: CoinProof
  holder: Party
  other: Party
  tip: { hash: string; seq: number; sn: string; owner: string; coin: string }
} {
  let proof = w.X.wallet.ownerPay(sn, w.Y.id)
  const i1 = info(w, proof)
  let tip = { hash: i1.tipHash, seq: 1, sn, owner: w.X.id, coin: i1.coin.hash }
  let [holder, other] = [w.Y, w.Z]
  for (let s = 1; s < n; s++) {
    ;({ proof, tip } = step(w, proof, holder, other.id, { tip }))
    ;[holder, other] = [other, holder]
  }
  return { proof, holder, other, tip }
}

// ---- envelope surgery ----

/** A correctly signed envelope around any body text (Signer.sign only ever writes canonical JSON). */
export function signText(who: Ident, tag: string, text: string): string {
  const t = utf8(tag)
  const body = utf8(text)
  const pub = who.signer.publicKey
  const sig = backend.sign(who.seed, concat([utf8('p2pay-signed\0'), t, new Uint8Array([0]), pub, body]))
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, body.byteLength)
  return toB64(concat([new Uint8Array([1, t.byteLength]), t, pub, len, body, sig]))
}

/** The same statement as `b64`, re-signed by `who` as valid but non-canonical JSON. */
export function nonCanonical(who: Ident, b64: string, style: 'spaces' | 'reordered'): string {
  const o = verifier.open<Record<string, unknown>>(fromB64(b64), [...Object.values(TAG)], 'test')
  const text =
    style === 'spaces'
      ? JSON.stringify(
          Object.fromEntries(
            Object.keys(o.body)
              .sort()
              .map(k => [k, o.body[k]])
          ),
          null,
          1
        )
      : JSON.stringify(
          Object.fromEntries(
            Object.keys(o.body)
              .sort()
              .reverse()
              .map(k => [k, o.body[k]])
          )
        )
  return signText(who, o.tag, text)
}

/** Offsets inside an envelope: [ver][tagLen][tag][signer 32][bodyLen 4][body][sig 64]. */
export function layout(b64: string): {
  tagStart: number
  signerStart: number
  bodyStart: number
  sigStart: number
  length: number
} {
  const b = fromB64(b64)
  const tagStart = 2
  const signerStart = tagStart + b[1]
  const bodyStart = signerStart + 32 + 4
  return { tagStart, signerStart, bodyStart, sigStart: b.byteLength - 64, length: b.byteLength }
}

/** Flips one bit of the byte at `offset`. */
export function flip(b64: string, offset: number): string {
  const b = fromB64(b64)
  b[offset] ^= 0x01
  return toB64(b)
}

export function withVersion(b64: string, version: number): string {
  const b = fromB64(b64)
  b[0] = version
  return toB64(b)
}

// ---- state and error assertions ----

/** Every account balance of the ledger is >= 0. */
export function assertNoNegative(w: World): void {
  for (const [id, a] of w.ledger.t.accounts.entries())
    assert.ok(a.balance >= 0, `negative balance ${a.balance} of ${id}`)
}

/** Conservation: balances + unpaid coins = money topped up. */
export function assertHolds(w: World): void {
  const a = w.ledger.audit()
  assert.equal(a.holds, true, `conservation broken: ${JSON.stringify(a)}`)
  assert.equal(a.balances + a.outstanding, a.toppedUp)
  assertNoNegative(w)
}

export const bal = (w: World, p: { id: string }): number => w.ledger.balance(p.id)

/** A holder cashes a held coin through its wallet and records the result. */
export function cashVia(w: World, p: Party, key: string): CashResult {
  const { proof, cash } = p.wallet.beginCash(key)
  const r = w.ledger.cash(proof, cash)
  p.wallet.finishCash(key, r)
  return r
}

export { snapshot, throwsCode, rejects } from '@p2pay/test-utils'

/** The happy chain used by many tests: X pays Y (seq 1); Y spends to Z via X (seq 2). */
export function chainToZ(
  w: World,
  value = 10
): { sn: string; p1: CoinProof; keyY: string; request: string; p2: CoinProof; keyZ: string } {
  const [coin] = buyCoins(w, w.X, 1, value)
  const p1 = w.X.wallet.ownerPay(coin.sn, w.Y.id)
  const keyY = accept(w.Y, p1, w.X.id).key
  const { request } = w.Y.wallet.beginSpend(keyY, w.Z.id)
  const { proof: p2 } = w.X.wallet.ownerReassign(p1, request)
  w.Y.wallet.finishSpend(keyY, p2)
  const keyZ = accept(w.Z, p2, w.Y.id).key
  return { sn: coin.sn, p1, keyY, request, p2, keyZ }
}
