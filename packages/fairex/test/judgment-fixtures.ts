// What the judge's tests share: a world of parties and a judge over in-memory
// tables, one fixed-form sale as its parties sign it (honest, or with what a
// test changes) and D's complaint about it, and the checks of a verdict.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  P2payError,
  memoryTables,
  Verifier,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  toHex,
  type Opened,
  type Signer
} from '@p2pay/core'
import { x25519FromEd25519Seed } from '../src/core/ecies.ts'
import { Judge } from '../src/core/judgment.ts'
import {
  openVerdict,
  type Complaint,
  type JudgeResult,
  type JudgmentTables,
  type VerdictBody
} from '../src/core/judgment-records.ts'
import { JUDGMENT_TABLES } from '../src/net/tables.ts'
import { encryptKeyPiece, newPieceKey, sekHash } from '../src/core/keypiece.ts'
import { signManifest } from '../src/core/manifest.ts'
import { merkleRoot, pieceHash } from '../src/core/merkle.ts'
import {
  acceptCheque,
  signCertificate,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/core/messages.ts'
import { sealZ, zHash, type ZRecipients } from '../src/core/zbox.ts'
import { rejects as rejectsTables, snapshot as snapshotTables } from '@p2pay/test-utils'

export const verifier = new Verifier(nodeEd25519())
export const T0 = 1_700_000_000_000
export const PIECE = 16 * 1024
export const BAN_MS = 3_600_000

export class Clock {
  t = T0
  readonly now = (): number => this.t
}

export interface Ident {
  signer: Signer
  id: string
  x: Uint8Array
}
export async function ident(): Promise<Ident> {
  const key = await generateKeyPair('Ed25519')
  const signer = signerFor(key, nodeEd25519())
  // identity.ts: Ed25519 raw = 32-byte seed | 32-byte public key
  return {
    signer,
    id: signer.peerId,
    x: x25519FromEd25519Seed((key as Ed25519PrivateKey).raw.subarray(0, 32)).privateKey
  }
}

export const judgeTables = (): JudgmentTables => memoryTables(JUDGMENT_TABLES)

export interface World {
  clock: Clock
  T: Ident
  J: Ident
  P: Ident
  D: Ident
  X: Ident
  /** the AC that issues D's capital certificates */
  AC: Ident
  judge: Judge
}

export async function world(): Promise<World> {
  const clock = new Clock()
  const [T, J, P, D, X, AC] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident()])
  return {
    clock,
    T,
    J,
    P,
    D,
    X,
    AC,
    judge: new Judge(judgeTables(), J.signer, J.x, verifier, { banMs: BAN_MS, now: clock.now })
  }
}

export const b64 = (o: Opened<unknown>): string => toB64(o.bytes)
export const hex = (): string => sha256Hex(randomBytes(16))

export function file(): { pieces: Uint8Array[]; hashes: Uint8Array[]; fileId: string; size: number } {
  const size = 3 * PIECE + 777
  const data = new Uint8Array(randomBytes(size))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < size; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  return { pieces, hashes, fileId: toHex(merkleRoot(hashes)), size }
}

export interface Sale {
  f: ReturnType<typeof file>
  K: Uint8Array
  req: Opened<RequestBody>
  cheque: Opened<ChequeBody>
  manifest: string
  /** D's capital certificate, the one C* names */
  certificate: string
  comp: Complaint
}

export interface SaleOptions {
  /** what P seals into Z: K when honest, K' for the attack */
  sealed?: Uint8Array
  /** whom P seals Z to (default: the TTP and this judge) */
  to?: ZRecipients
  /** the manifest P names in C* (default: its manifest of the sold file) */
  manifestFileId?: string
  cheque?: Partial<FixedChequeBody> | Partial<OriginalChequeBody>
  form?: 'fixed' | 'original'
}

/** One fixed-form sale (1.1 to 2.3) as the parties sign it, and D's complaint about it. */
export function sale(w: World, o: SaleOptions = {}): Sale {
  const f = file()
  const K = newPieceKey()
  const keyIndex = 2
  const sek = encryptKeyPiece(K, f.pieces[keyIndex])
  const price = 7
  const req = signRequest(w.D.signer, {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    fileId: f.fileId,
    chequeSn: randomId(8),
    ts: T0,
    price
  })
  const z = sealZ(
    o.sealed ?? K,
    { provider: w.P.id, downloader: w.D.id, chequeSn: req.body.chequeSn },
    o.to ?? { ttp: w.T.id, judge: w.J.id }
  )
  const manifest = signManifest(w.P.signer, {
    fileId: o.manifestFileId ?? f.fileId,
    name: 'song.ogg',
    size: f.size,
    pieceSize: PIECE,
    price,
    createdAt: T0 - 1000
  })
  const cert = signCertificate(w.AC.signer, {
    ac: w.AC.id,
    peer: w.D.id,
    max: 100,
    expiry: T0 + 3_600_000,
    serial: randomId(8)
  })
  const common = {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    chequeSn: req.body.chequeSn,
    price,
    ts: T0 + 5,
    hSEK: sekHash(sek),
    z: zHash(z)
  }
  const body =
    o.form === 'original'
      ? ({ form: 'original', ...common, hKP: hex(), ...o.cheque } as OriginalChequeBody)
      : ({
          form: 'fixed',
          ...common,
          req: req.hash,
          certificate: cert.hash,
          judge: w.J.id,
          manifest: sha256Hex(fromB64(manifest)),
          keyIndex,
          ...o.cheque
        } as FixedChequeBody)
  const cheque = signCheque(w.P.signer, body)
  const accept = acceptCheque(w.D.signer, cheque)
  return {
    f,
    K,
    req,
    cheque,
    manifest,
    certificate: b64(cert),
    comp: {
      cheque: b64(cheque),
      accept: b64(accept),
      z: toB64(z),
      request: b64(req),
      sek: toB64(sek),
      manifest,
      pieceHashes: f.hashes.map(toHex),
      certificate: b64(cert)
    }
  }
}

export const snapshot = (w: World): string => snapshotTables(w.judge.t)

/** Asserts `fn` throws `code` and that none of the judge's tables changed. */
export const rejects = (w: World, fn: () => unknown, code: string): P2payError => rejectsTables(w.judge.t, fn, code)

/** The verdict as a node or the AC would check it, and that it is about this sale. */
export function checkVerdict(w: World, s: Sale, r: JudgeResult, ruling: string, reason: string): VerdictBody {
  const v = openVerdict(verifier, r.verdict, w.J.id)
  assert.equal(v.hash, r.hash)
  assert.deepEqual(v.body, r.body)
  assert.equal(v.signer, w.J.id)
  assert.equal(v.body.ruling, ruling)
  assert.equal(v.body.reason, reason)
  assert.equal(v.body.cheque, s.cheque.hash)
  assert.equal(v.body.provider, w.P.id)
  assert.equal(v.body.downloader, w.D.id)
  assert.equal(v.body.chequeSn, s.cheque.body.chequeSn)
  assert.equal(v.body.at, w.clock.t)
  if (ruling === 'invalidComplain') {
    assert.equal(r.ban, undefined)
    assert.equal(w.judge.verdict(s.cheque.hash)!.ban, undefined)
  }
  return v.body
}
