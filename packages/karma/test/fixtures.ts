// Shared fixtures for the Karma unit tests: Ed25519 identities, a network of
// bank members over in-memory tables (each member its own Member), a payer's
// nonce counter, delivery helpers that play the service's part, a service
// context over stubs, and assertions on error codes and unchanged books.
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import {
  nodeEd25519,
  signerFor,
  sha256,
  utf8,
  memoryTables,
  Verifier,
  randomId,
  Lifecycle,
  type Logger,
  type P2payError,
  type Signer
} from '@p2pay/core'
import { rejects as rejectsIn } from '@p2pay/test-utils'
import { DEFAULT_KARMA } from '../src/core/config.ts'
import type { KarmaCalls, KarmaContext } from '../src/net/context.ts'
import { BankDuties } from '../src/net/bank-duties.ts'
import { bankSet } from '../src/core/bankset.ts'
import { solvePow } from '../src/core/pow.ts'
import { makeJoin, openBalance } from '../src/core/state-messages.ts'
import { makeTransfer, type Signed, type TransferBody } from '../src/core/messages.ts'
import { majorityValue } from '../src/core/majority.ts'
import { Member } from '../src/core/member.ts'
import type { MemberTables, NoticeOutcome } from '../src/core/member-records.ts'
import { MEMBER_TABLES, SERVICE_TABLES } from '../src/net/tables.ts'

export const backend = nodeEd25519()
export const verifier = new Verifier(backend)
export const T0 = 1_700_000_000_000
export const K = 5
/** Small, so joins are quick; the puzzle itself is tested at other difficulties. */
export const DIFFICULTY = 6
export const INITIAL = 1000

export class Clock {
  t = T0
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export interface Ident {
  signer: Signer
  id: string
}

export async function ident(): Promise<Ident> {
  const signer = signerFor(await generateKeyPair('Ed25519'), backend)
  return { signer, id: signer.peerId }
}

export const idents = async (n: number): Promise<Ident[]> => await Promise.all(Array.from({ length: n }, ident))

/** The i-th fixed identity: networks built from these have the same bank-sets on every run. */
export async function seeded(i: number): Promise<Ident> {
  const signer = signerFor(await generateKeyPairFromSeed('Ed25519', sha256(utf8(`karma-test|${i}`))), backend)
  return { signer, id: signer.peerId }
}

export function memberTables(): MemberTables {
  return memoryTables(MEMBER_TABLES)
}

/** Deterministic PRNG for shuffles (test reproducibility, not secrets). */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffle<T>(list: readonly T[], rand: () => number): T[] {
  const a = [...list]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

/**
 * Every peer is an account holder and a bank member; all see the whole network
 * (every member computes the same sets, as the service does with query + self).
 */
export class Net {
  readonly k: number
  readonly clock = new Clock()
  readonly peers: Ident[]
  readonly members = new Map<string, Member>()
  readonly nonces = new Map<string, number>()
  constructor(peers: Ident[], k = K) {
    this.k = k
    this.peers = peers
    for (const p of peers)
      this.members.set(p.id, new Member(memberTables(), p.signer, verifier, { k, now: this.clock.now }))
  }

  get ids(): string[] {
    return this.peers.map(p => p.id)
  }
  bank(account: string): string[] {
    return bankSet(account, this.ids, this.k)
  }
  member(id: string): Member {
    return this.members.get(id)!
  }

  /** The peer joins: its join proof is accepted by every member of its bank. */
  join(who: Ident, karma = INITIAL): void {
    const proof = makeJoin(who.signer, solvePow(who.id, DIFFICULTY), DIFFICULTY)
    const bank = this.bank(who.id)
    // the bank's first open: no old member has the account
    for (const m of bank) this.member(m).openAccount(proof.b64, karma, DIFFICULTY, bank, true)
  }

  /** A's next signed request (A keeps its own nonce counter). */
  request(
    from: Ident,
    to: string,
    amount: number,
    opts: { nonce?: number; epoch?: number } = {}
  ): Signed<TransferBody> {
    const nonce = opts.nonce ?? (this.nonces.get(from.id) ?? 0) + 1
    if (opts.nonce === undefined) this.nonces.set(from.id, nonce)
    return makeTransfer(from.signer, { to, amount, nonce, epoch: opts.epoch ?? 0, ts: this.clock.t })
  }

  /** Members of bank(A) debit A; returns their notices. */
  debit(req: Signed<TransferBody>, at: readonly string[] = this.bank(req.body.from)): string[] {
    const bankA = this.bank(req.body.from)
    return at.map(m => this.member(m).debit(req.b64, bankA).notice)
  }

  /** Delivers notices to members of bank(B); outcomes per recipient, in delivery order. */
  deliver(
    notices: readonly string[],
    from: string,
    to: string,
    at: readonly string[] = this.bank(to)
  ): Map<string, NoticeOutcome[]> {
    const bankA = this.bank(from)
    const bankB = this.bank(to)
    const out = new Map<string, NoticeOutcome[]>()
    for (const m of at)
      for (const n of notices) {
        const list = out.get(m) ?? []
        list.push(this.member(m).receiveNotice(n, bankA, bankB))
        out.set(m, list)
      }
    return out
  }

  /** A whole honest transfer: request, debit at all of bank(A), notices to all of bank(B). */
  transfer(from: Ident, to: Ident, amount: number): Signed<TransferBody> {
    const req = this.request(from, to.id, amount)
    this.deliver(this.debit(req), from.id, to.id)
    return req
  }

  /** balance of `account` at each member of its bank */
  balances(account: string, at: readonly string[] = this.bank(account)): number[] {
    return at.map(m => this.member(m).account(account)?.balance ?? NaN)
  }

  /** What a reader gets by majority from signed answers of `at` (default: the whole bank). */
  read(
    account: string,
    reader: Ident,
    at: readonly string[] = this.bank(account)
  ): { balance: number; nonce: number; epoch: number } | undefined {
    const challenge = randomId(8)
    const answers = at.flatMap(m => {
      try {
        return [
          openBalance(verifier, this.member(m).balanceOf(account, reader.id, challenge), {
            account,
            asker: reader.id,
            challenge
          })
        ]
      } catch {
        return []
      }
    })
    return majorityValue(answers, this.bank(account), Member.balanceValue, this.k)?.value
  }
}

/** A network of `n` fixed identities (reproducible bank-sets). */
export async function net(n = 14, k = K): Promise<Net> {
  return new Net(await Promise.all(Array.from({ length: n }, (_, i) => seeded(i))), k)
}

/** Two peers whose banks do not overlap and do not contain each other (clean roles for Byzantine tests). */
export function disjointPair(w: Net): [Ident, Ident] {
  for (const a of w.peers) {
    for (const b of w.peers) {
      if (a === b) continue
      const ba = w.bank(a.id)
      const bb = w.bank(b.id)
      if (ba.includes(b.id) || bb.includes(a.id) || ba.some(m => bb.includes(m))) continue
      return [a, b]
    }
  }
  throw new Error('no disjoint pair: use more peers')
}

/** A fresh network with two joined accounts whose banks do not overlap. */
export async function joinedPair(): Promise<{ w: Net; A: Ident; B: Ident }> {
  const w = await net()
  const [A, B] = disjointPair(w)
  w.join(A)
  w.join(B)
  return { w, A, B }
}

export const byId = (w: Net, id: string): Ident => w.peers.find(p => p.id === id)!

export { snapshot, throwsCode } from '@p2pay/test-utils'

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent }

/**
 * A service context for `who` over `member`'s books (no libp2p): fresh service tables, a silent log, a store that
 * applies changes at once, its own lifecycle; the view and the calls to other nodes are the test's stubs.
 */
export function context(who: Ident, member: Member, parts: Partial<KarmaContext> = {}): KarmaContext {
  return {
    me: who.id,
    cfg: { ...DEFAULT_KARMA },
    member,
    t: memoryTables(SERVICE_TABLES),
    store: { apply: async <T>(fn: () => T): Promise<T> => fn(), barrier: async () => {} },
    signer: who.signer,
    verifier,
    log: silent,
    life: new Lifecycle(),
    view: undefined as never,
    peers: undefined as never,
    ...parts
  }
}

/** Asserts `fn` throws `code` and that none of the members' books changed. */
export function rejects(members: Member | Member[], fn: () => unknown, code: string): P2payError {
  return rejectsIn(
    (Array.isArray(members) ? members : [members]).map(m => m.t),
    fn,
    code
  )
}

/** Calls to peers that all fail: for duties that must decide without asking anyone. */
export const unreachablePeers = {
  call: async () => {
    throw new Error('unreachable')
  },
  send: async () => {}
} as unknown as KarmaCalls

/** The duties of member `id` of `w`, over a view of all of `w` (fresh looks listed in `calls`) and `peers`. */
export function duties(w: Net, id: string, calls: string[] = [], peers: KarmaCalls = unreachablePeers): BankDuties {
  const view = {
    bank: async (a: string, fresh?: boolean) => {
      if (fresh === true) calls.push(a)
      return w.bank(a)
    },
    karmaPeersNear: async () => w.ids
  } as any
  return new BankDuties(context(byId(w, id), w.member(id), { view, peers }))
}
