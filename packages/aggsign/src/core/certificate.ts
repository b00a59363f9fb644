// The broker's certificate of a peer's BLS key: an Ed25519 envelope signed with
// the broker's libp2p key. It binds the key to the peer, says how much value
// the key may mint (0: the key only receives) and until when. Its hash names
// it in coins; checkers open it once and look it up by hash after that.
import {
  ErrorCode,
  sha256Hex,
  checkTimestamp,
  checkToken,
  decodeSigned,
  exactKeys,
  fail,
  isMoney,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import type { AggsignKind } from '../kinds.ts'
import { checkPublicKeyB64 } from './bls.ts'
import { checkPeer } from './messages.ts'

export const CERT_TAG = 'p2pay/aggsign/cert/v1'

export interface CertBody {
  peer: string
  /** base64 of the peer's 48-byte G1 key */
  key: string
  /** value the key may mint in all (0: it only receives) */
  limit: number
  /** ms */
  expiry: number
  serial: string
}

/** A certificate as checkers use it: its body, its hash and the broker that signed it. */
export interface CertInfo extends CertBody {
  hash: string
  broker: string
}

/** Finds an opened certificate by hash (the caller's cache or the broker's table). */
export type CertLookup = (hash: string) => CertInfo | undefined

const MAX_CERT_B64 = 2048

/** The hash that names a certificate envelope given as base64, without verifying it (to find it in a cache). */
export const certHashOf = (b64: unknown): string => sha256Hex(decodeSigned(b64, 'certificate', MAX_CERT_B64))

export function checkCertBody(b: CertBody): void {
  exactKeys(b, ['peer', 'key', 'limit', 'expiry', 'serial'], 'certificate')
  checkPeer(b.peer, 'certificate peer')
  checkPublicKeyB64(b.key, 'certificate key')
  if (!isMoney(b.limit)) fail(ErrorCode.BAD_REQUEST, 'certificate limit must be an amount')
  checkTimestamp(b.expiry, 'certificate expiry')
  checkToken(b.serial, 'certificate serial')
}

export function signCertificate(signer: Signer<AggsignKind>, body: CertBody): Opened<CertBody> {
  checkCertBody(body)
  return signer.sign<CertBody>(CERT_TAG, body, 'aggsign-certify')
}

/** Opens a certificate from a peer: signed by `broker`, well formed. */
export function openCertificate(
  verifier: Verifier<AggsignKind>,
  b64: unknown,
  broker: string,
  kind: AggsignKind
): CertInfo {
  const env = verifier.open<CertBody>(decodeSigned(b64, 'certificate', MAX_CERT_B64), CERT_TAG, kind)
  if (env.signer !== broker) fail(ErrorCode.WRONG_BROKER, 'certificate not signed by this broker')
  checkCertBody(env.body)
  return { ...env.body, hash: env.hash, broker: env.signer }
}
