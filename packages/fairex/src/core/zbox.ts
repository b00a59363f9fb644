// Z = Enc_T(K, P, D): the piece key sealed so that only a third party can
// recover it in a dispute. In the original protocol Z is one box for the TTP.
// In the fixed protocol it holds a second box for the judge, so a complaint is
// judged without the TTP; P signs H(Z) into the cheque, so whatever either box
// holds is P's own commitment (a box that does not yield the right key is P's fault).
//
// Each box is an ECIES box (see ecies.ts) over canonical JSON {key, provider,
// downloader, chequeSn}; its AAD names the sale and the box's role, so a box
// cannot be moved to another sale or from one role to the other.
import {
  ErrorCode,
  P2payError,
  canonicalJson,
  fail,
  fromB64,
  fromUtf8,
  sha256Hex,
  toB64,
  toHex,
  utf8
} from '@p2pay/core'
import { eciesDecrypt, eciesEncrypt, x25519OfPeerId } from './ecies.ts'
import { KEY_LEN } from './keypiece.ts'

export type ZRole = 'ttp' | 'judge'
export interface ZParties {
  provider: string
  downloader: string
  chequeSn: string
}
export interface ZRecipients {
  ttp: string
  judge?: string
}

const MAX_Z = 4096
const aad = (p: ZParties, role: ZRole): Uint8Array =>
  utf8(`p2pay/fairex/z/v1|${p.provider}|${p.downloader}|${p.chequeSn}|${role}`)

function box(recipient: string, key: Uint8Array, p: ZParties, role: ZRole): string {
  const plain = utf8(
    canonicalJson({ key: toHex(key), provider: p.provider, downloader: p.downloader, chequeSn: p.chequeSn })
  )
  return toB64(eciesEncrypt(x25519OfPeerId(recipient), plain, aad(p, role)))
}

/**
 * Seals K for the TTP (and the judge, when named). `key` is what P claims is K:
 * a dishonest provider passes a garbage K' here, which is exactly the paper's attack.
 */
export function sealZ(key: Uint8Array, parties: ZParties, to: ZRecipients): Uint8Array {
  if (key.byteLength !== KEY_LEN) fail(ErrorCode.BAD_REQUEST, 'piece key must be 32 bytes')
  const z: Record<string, unknown> = { v: 1, ttp: box(to.ttp, key, parties, 'ttp') }
  if (to.judge != null) z.judge = box(to.judge, key, parties, 'judge')
  return utf8(canonicalJson(z))
}

export const zHash = (z: Uint8Array): string => sha256Hex(z)

/**
 * Opens the box for `role` with that party's X25519 private key and checks it
 * names the expected sale. Throws P2payError: BAD_REQUEST for a malformed Z or
 * a missing box, BAD_SIGNATURE for a box that does not open or names another sale.
 */
export function openZ(z: Uint8Array, role: ZRole, privateKey: Uint8Array, parties: ZParties): Uint8Array {
  if (!(z instanceof Uint8Array) || z.byteLength === 0 || z.byteLength > MAX_Z)
    fail(ErrorCode.BAD_REQUEST, 'Z must be 1..4096 bytes')
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(fromUtf8(z))
  } catch {
    fail(ErrorCode.BAD_REQUEST, 'Z is not JSON')
  }
  if (parsed == null || parsed.v !== 1) fail(ErrorCode.UNKNOWN_VERSION, 'unknown Z version')
  const b64 = parsed[role]
  if (typeof b64 !== 'string') fail(ErrorCode.BAD_REQUEST, `Z holds no box for the ${role}`)
  const plain = eciesDecrypt(privateKey, fromB64(b64), aad(parties, role))
  let content: Record<string, unknown>
  try {
    content = JSON.parse(fromUtf8(plain))
  } catch {
    throw new P2payError(ErrorCode.BAD_SIGNATURE, 'Z box content is not JSON')
  }
  if (
    content.provider !== parties.provider ||
    content.downloader !== parties.downloader ||
    content.chequeSn !== parties.chequeSn
  ) {
    fail(ErrorCode.BAD_SIGNATURE, 'Z box names another sale')
  }
  if (typeof content.key !== 'string' || !/^[0-9a-f]{64}$/.test(content.key))
    fail(ErrorCode.BAD_SIGNATURE, 'Z box holds no 32-byte key')
  return new Uint8Array(Buffer.from(content.key, 'hex'))
}
