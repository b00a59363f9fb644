// What the tests of the signed objects share: parties, request and cheque
// bodies as honest parties make them, and ways to sign or damage an envelope.
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  Verifier,
  canonicalJson,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  type Opened,
  type Signer
} from '@p2pay/core'
import { type FixedChequeBody, type OriginalChequeBody, type RequestBody } from '../src/core/messages.ts'

export const verifier = new Verifier(nodeEd25519())
export const T0 = 1_700_000_000_000

export interface Ident {
  signer: Signer
  id: string
}
export async function ident(): Promise<Ident> {
  const signer = signerFor(await generateKeyPair('Ed25519'), nodeEd25519())
  return { signer, id: signer.peerId }
}

export const b64 = (o: Opened<unknown>): string => toB64(o.bytes)
/** Signs any body with any tag, bypassing the helpers' checks. */
export const raw = (who: Ident, tag: string, body: unknown): string => toB64(who.signer.sign(tag, body, 'test').bytes)
export const hex = (): string => sha256Hex(new TextEncoder().encode(randomId(16)))
export function encodable(v: unknown): boolean {
  try {
    canonicalJson(v)
    return true
  } catch {
    return false
  }
}
/** Flips one bit of the byte at `offset` from the end. */
export function flipFromEnd(s: string, back: number): string {
  const b = fromB64(s)
  b[b.byteLength - back] ^= 0x01
  return toB64(b)
}

export interface Parties {
  P: Ident
  D: Ident
  T: Ident
  J: Ident
  AC: Ident
  X: Ident
}
export async function parties(): Promise<Parties> {
  const [P, D, T, J, AC, X] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident()])
  return { P, D, T, J, AC, X }
}

export function reqBody(s: Parties, over: Partial<RequestBody> = {}): RequestBody {
  return {
    provider: s.P.id,
    downloader: s.D.id,
    ttp: s.T.id,
    fileId: hex(),
    chequeSn: randomId(16),
    ts: T0,
    price: 7,
    ...over
  }
}

export function fixedFor(
  s: Parties,
  req: Opened<RequestBody>,
  certificate: string,
  over: Partial<FixedChequeBody> = {}
): FixedChequeBody {
  const r = req.body
  return {
    form: 'fixed',
    provider: r.provider,
    downloader: r.downloader,
    ttp: r.ttp,
    chequeSn: r.chequeSn,
    price: r.price,
    ts: r.ts + 1000,
    hSEK: hex(),
    req: req.hash,
    z: hex(),
    certificate,
    judge: s.J.id,
    manifest: hex(),
    keyIndex: 3,
    ...over
  }
}

export function originalFor(req: Opened<RequestBody>, over: Partial<OriginalChequeBody> = {}): OriginalChequeBody {
  const r = req.body
  return {
    form: 'original',
    provider: r.provider,
    downloader: r.downloader,
    ttp: r.ttp,
    chequeSn: r.chequeSn,
    price: r.price,
    ts: r.ts + 1000,
    hKP: hex(),
    hSEK: hex(),
    z: hex(),
    ...over
  }
}
