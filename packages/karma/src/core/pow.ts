// Join puzzle: a new peer gets its initial karma only after finding a nonce
// with sha256(peer | "|" | nonce) starting with `difficulty` zero bits. The
// hash binds the peer id, so a solution cannot be reused for another identity
// and minting karma costs about 2^difficulty hashes per identity.
import { ErrorCode, fail, sha256, utf8 } from '@p2pay/core'

/** Above this a puzzle is unsolvable in practice; also keeps the loop bounds sane. */
export const MAX_DIFFICULTY = 64

export const powHash = (peer: string, nonce: number): Uint8Array => sha256(utf8(`${peer}|${nonce}`))

export function leadingZeroBits(h: Uint8Array): number {
  let n = 0
  for (const byte of h) {
    if (byte === 0) {
      n += 8
      continue
    }
    return n + Math.clz32(byte) - 24
  }
  return n
}

export function checkDifficulty(d: unknown): number {
  if (!Number.isSafeInteger(d) || (d as number) < 0 || (d as number) > MAX_DIFFICULTY)
    fail(ErrorCode.BAD_REQUEST, `difficulty must be 0..${MAX_DIFFICULTY}`)
  return d as number
}

export const powValid = (peer: string, nonce: number, difficulty: number): boolean =>
  leadingZeroBits(powHash(peer, nonce)) >= difficulty

/** Finds the smallest nonce >= `from` that solves the puzzle (for clients and tests). */
export function solvePow(peer: string, difficulty: number, from = 0): number {
  checkDifficulty(difficulty)
  for (let nonce = from; nonce <= Number.MAX_SAFE_INTEGER; nonce++) if (powValid(peer, nonce, difficulty)) return nonce
  throw new Error('no solution')
}
