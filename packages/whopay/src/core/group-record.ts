// The group as the broker publishes it: a `whopay/group` envelope by the broker naming the group public key, the
// judge and the hash of the judge's opener envelope. A member (or the judge) trusts a group only when the judge it
// knows signed the opener part and the gpk carries exactly that part, on the standard generators: then only that
// judge can open its signatures, and the broker, which holds gamma, cannot.
import { toB64, type Signer, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import * as bbs from './bbs04.ts'
import { openGroupEnvelope, type GroupRecord, type OpenerEnvelope } from './group-envelopes.ts'
import { TAG, type GroupBody } from './messages.ts'
import type { OpenerRecord } from './opener.ts'

export { GROUP_ENV_B64, type GroupRecord } from './group-envelopes.ts'

const KIND: WhopayKind = 'whopay-join'

/** The broker signs the group it built on the judge's part with its gamma. */
export function signGroupRecord(
  broker: Signer<WhopayKind>,
  gpk: bbs.GroupPublicKey,
  opener: OpenerRecord
): GroupRecord {
  const gpkBytes = bbs.encodeGroupPublicKey(gpk)
  checkOnPart(gpkBytes, opener)
  const body: GroupBody = { gpk: toB64(gpkBytes), judge: opener.judge, opener: opener.hash }
  const env = broker.sign<GroupBody>(TAG.group, body, KIND)
  return {
    gpk: gpkBytes,
    broker: env.signer,
    judge: opener.judge,
    opener: opener.hash,
    hash: env.hash,
    b64: toB64(env.bytes)
  }
}

/** The gpk is well formed, on the standard generators, and carries the judge's (h, u, v). */
function checkOnPart(gpkBytes: Uint8Array, opener: OpenerEnvelope): bbs.GroupPublicKey {
  const gpk = bbs.decodeGroupPublicKey(gpkBytes)
  bbs.checkGroupOnPart(gpk, opener.partBytes)
  return gpk
}

/**
 * Opens a group envelope: signed by `broker`, naming the judge of `opener` and its envelope hash, with a gpk on
 * that opener part. WRONG_SIGNER, BAD_REQUEST otherwise.
 */
export function openGroupRecord(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  broker: string,
  opener: OpenerEnvelope
): GroupRecord {
  const record = openGroupEnvelope(verifier, b64, broker, opener)
  checkOnPart(record.gpk, opener)
  return record
}
