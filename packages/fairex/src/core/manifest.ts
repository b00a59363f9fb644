// A provider-signed manifest: what a file is (its Merkle root and layout) and
// what it costs. Downloaders check every piece against `fileId`, so the
// manifest is the only thing they need to trust, and the signature binds it to
// the provider who will be paid (or banned) for it.
import {
  ErrorCode,
  exactKeys,
  fail,
  fromB64,
  isHash,
  isTimestamp,
  toB64,
  utf8,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import type { FairexKind } from '../kinds.ts'
import { checkPieceCount, checkPieceSize, pieceCount } from './pieces.ts'

export const MANIFEST_TAG = 'p2pay/fairex/manifest/v1'
const MAX_MANIFEST_B64 = 4096
const MAX_NAME_BYTES = 255

export interface ManifestBody {
  /** peer id of the signer */
  provider: string
  /** Merkle root over the piece hashes, 64 lowercase hex */
  fileId: string
  name: string
  size: number
  pieceSize: number
  pieceCount: number
  price: number
  createdAt: number
}

export type ManifestInput = Omit<ManifestBody, 'provider' | 'pieceCount'>

const KEYS = ['createdAt', 'fileId', 'name', 'pieceCount', 'pieceSize', 'price', 'provider', 'size']
const isPositive = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0

/** A path separator or a control character: never in a name a downloader saves under. */
const badNameChar = (code: number): boolean => code === 0x2f || code === 0x5c || code < 0x20 || code === 0x7f

/**
 * A name is a plain file name a downloader may save under: no path separators,
 * no control characters, not "." or "..", at most 255 UTF-8 bytes; well-formed (a lone surrogate has no UTF-8
 * form: the signed bytes would name another file).
 */
function checkName(name: unknown): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    !name.isWellFormed() ||
    Array.from({ length: name.length }, (_, i) => name.charCodeAt(i)).some(badNameChar) ||
    name === '.' ||
    name === '..'
  ) {
    fail(ErrorCode.BAD_REQUEST, 'manifest name must be a plain file name')
  }
  if (utf8(name).byteLength > MAX_NAME_BYTES)
    fail(ErrorCode.BAD_REQUEST, `manifest name longer than ${MAX_NAME_BYTES} bytes`)
}

export function checkManifestBody(b: ManifestBody): void {
  if (b == null || typeof b !== 'object') fail(ErrorCode.BAD_REQUEST, 'manifest has missing or unknown fields')
  exactKeys(b, KEYS, 'manifest')
  if (typeof b.provider !== 'string' || b.provider.length === 0 || b.provider.length > 128)
    fail(ErrorCode.BAD_REQUEST, 'manifest provider must be a peer id')
  if (!isHash(b.fileId)) fail(ErrorCode.BAD_REQUEST, 'manifest fileId must be 64 lowercase hex')
  checkName(b.name)
  if (!isPositive(b.size)) fail(ErrorCode.BAD_REQUEST, 'manifest size must be a positive integer')
  checkPieceSize(b.pieceSize)
  if (b.pieceCount !== pieceCount(b.size, b.pieceSize))
    fail(ErrorCode.BAD_REQUEST, 'manifest pieceCount does not match size and pieceSize')
  checkPieceCount(b.size, b.pieceSize)
  if (!isPositive(b.price)) fail(ErrorCode.BAD_REQUEST, 'manifest price must be a positive integer')
  if (!isTimestamp(b.createdAt)) fail(ErrorCode.BAD_REQUEST, 'manifest createdAt must be a timestamp')
}

/** Signs a manifest as `signer` (the provider); refuses to sign one openManifest would reject. */
export function signManifest(signer: Signer, input: ManifestInput, kind: FairexKind = 'fairex-manifest'): string {
  const body: ManifestBody = {
    provider: signer.peerId,
    fileId: input.fileId,
    name: input.name,
    size: input.size,
    pieceSize: input.pieceSize,
    pieceCount: pieceCount(input.size, input.pieceSize),
    price: input.price,
    createdAt: input.createdAt
  }
  checkManifestBody(body)
  return toB64(signer.sign(MANIFEST_TAG, body, kind).bytes)
}

/** Opens a base64 manifest: signature, tag, fields, and that its signer is the provider it names. */
export function openManifest(
  verifier: Verifier,
  b64: unknown,
  kind: FairexKind = 'fairex-manifest'
): Opened<ManifestBody> {
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length > MAX_MANIFEST_B64)
    fail(ErrorCode.BAD_REQUEST, 'manifest must be a base64 signed object')
  const m = verifier.open<ManifestBody>(fromB64(b64), MANIFEST_TAG, kind)
  checkManifestBody(m.body)
  if (m.signer !== m.body.provider) fail(ErrorCode.WRONG_SIGNER, 'manifest not signed by its provider')
  return m
}
