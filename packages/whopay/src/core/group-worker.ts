// One worker thread of the group crypto pool: BBS04 sign, verify, open and the checks of a group and a member key
// over bytes, so the ~7 ms of a sign or verify never blocks a daemon's event loop and a daemon's own thread never
// loads mcl-wasm. mcl initialises once per thread, when bbs04.ts is first imported.
// Decoded group keys, member keys and opener keys are kept (a few): decoding checks every point's subgroup, which
// costs more than a verify's scalar work on a key that comes with every call.
import { parentPort } from 'node:worker_threads'
import { P2payError, ErrorCode } from '@p2pay/core/errors'
import * as bbs from './bbs04.ts'

export type GroupOp = 'sign' | 'verify' | 'open' | 'check-group' | 'check-member'

/** A job: `args` are bytes, each a copy whose buffer was transferred. */
export interface GroupJob {
  id: number
  op: GroupOp
  args: Uint8Array[]
}

export type GroupReply =
  | { id: number; ok: true; result: Uint8Array | boolean }
  | { id: number; ok: false; error: { code: string; message: string } }

/** How many decoded keys of each sort a worker keeps. */
const KEYS_KEPT = 16

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** The decoded key for these bytes; the oldest goes when the cache is full (no re-insert on use: keys are few). */
function cached<T>(cache: Map<string, T>, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
  const k = hex(bytes)
  let v = cache.get(k)
  if (v === undefined) {
    v = decode(bytes)
    if (cache.size >= KEYS_KEPT) cache.delete(cache.keys().next().value as string)
    cache.set(k, v)
  }
  return v
}

const gpks = new Map<string, bbs.GroupPublicKey>()
const members = new Map<string, bbs.MemberKey>()
const openers = new Map<string, bbs.OpenerKey>()

const bytesArg = (args: Uint8Array[], i: number, what: string): Uint8Array => {
  const b = args[i]
  if (!(b instanceof Uint8Array)) throw new P2payError(ErrorCode.BAD_REQUEST, `${what} must be bytes`)
  return b
}

/** Runs one job; throws BAD_REQUEST on malformed bytes. */
export function runGroupJob(op: GroupOp, args: Uint8Array[]): Uint8Array | boolean {
  const gpk = cached(gpks, bytesArg(args, 0, 'the group public key'), bbs.decodeGroupPublicKey)
  switch (op) {
    case 'sign': {
      const key = cached(members, bytesArg(args, 1, 'the member key'), bbs.decodeMemberKey)
      return bbs.encodeSignature(bbs.sign(gpk, key, bytesArg(args, 2, 'the message')))
    }
    case 'verify':
      return bbs.verify(gpk, bytesArg(args, 1, 'the message'), bytesArg(args, 2, 'the signature'))
    case 'open': {
      const key = cached(openers, bytesArg(args, 1, 'the opener key'), bbs.decodeOpenerKey)
      return bbs.open(gpk, key, bytesArg(args, 2, 'the signature'))
    }
    case 'check-group':
      bbs.checkGroupOnPart(gpk, bytesArg(args, 1, 'the opener part'))
      return true
    case 'check-member':
      return bbs.checkMemberKey(gpk, cached(members, bytesArg(args, 1, 'the member key'), bbs.decodeMemberKey))
    default:
      throw new P2payError(ErrorCode.BAD_REQUEST, `unknown group operation ${String(op).slice(0, 20)}`)
  }
}

function reply(job: GroupJob): GroupReply {
  try {
    return { id: job.id, ok: true, result: runGroupJob(job.op, job.args) }
  } catch (err) {
    if (err instanceof P2payError) return { id: job.id, ok: false, error: { code: err.code, message: err.message } }
    const message = err instanceof Error ? err.message : String(err)
    return { id: job.id, ok: false, error: { code: ErrorCode.INTERNAL, message: `group crypto: ${message}` } }
  }
}

if (parentPort != null) {
  const port = parentPort
  port.on('message', (job: GroupJob) => {
    const out = reply(job)
    if (!(out.ok && out.result instanceof Uint8Array)) return port.postMessage(out)
    // a result that shares its buffer is copied first: transferring detaches the whole buffer
    const own = out.result.byteLength === out.result.buffer.byteLength ? out.result : out.result.slice()
    port.postMessage({ ...out, result: own }, [own.buffer as ArrayBuffer])
  })
}
