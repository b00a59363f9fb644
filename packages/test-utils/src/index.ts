// Assertions every package's tests share: an error is a P2payError with the
// expected code, and a refused input left the tables exactly as they were.
import assert from 'node:assert/strict'
import { P2payError, type Table } from '@p2pay/core'

/** The contents of a set of tables (name -> Table), as one comparable string. */
export function snapshot(tables: object): string {
  return JSON.stringify(Object.entries(tables as Record<string, Table>).map(([name, t]) => [name, [...t.entries()]]))
}

/** Asserts `err` is a P2payError with `code` (and, if given, that message) and returns it. */
export function assertCode(err: unknown, code: string, message?: string | RegExp): P2payError {
  assert.ok(
    err instanceof P2payError,
    `expected P2payError ${code}, got ${err === undefined ? 'no throw' : String(err)}`
  )
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`)
  if (typeof message === 'string') assert.equal(err.message, message)
  else if (message != null) assert.match(err.message, message)
  return err
}

/** Asserts `fn` throws a P2payError with `code` (and, if given, that message) and returns it. */
export function throwsCode(fn: () => unknown, code: string, message?: string | RegExp): P2payError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  return assertCode(caught, code, message)
}

/** Asserts `p` rejects with a P2payError with `code` and returns it. */
export async function rejectsCode(p: Promise<unknown>, code: string, message?: string | RegExp): Promise<P2payError> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  return assertCode(caught, code, message)
}

/** Asserts `fn` throws `code` and that none of `tables` (one set, or several) changed. */
export function rejects(tables: object | object[], fn: () => unknown, code: string): P2payError {
  const list = Array.isArray(tables) ? tables : [tables]
  const before = list.map(snapshot)
  const err = throwsCode(fn, code)
  assert.deepEqual(list.map(snapshot), before, `tables changed although ${code} was thrown`)
  return err
}
