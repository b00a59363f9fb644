// LevelDB state: one sublevel per bucket, every state change one atomic batch.
//
// Services keep their working set in memory (Table) and change it synchronously
// inside one JavaScript turn, so checks and updates cannot interleave. The dirty
// entries of that turn are then written as one batch; group commit folds the
// batches of concurrent requests into a single synced write, and a reply is sent
// only after the write that contains its change has been synced.
//
// A failed write leaves memory ahead of disk: from then on every commit and
// barrier fails with STORE_FAILED (so the request that hit it, and any after,
// are answered with that error rather than acknowledged), and the process exits
// with code 70 once those answers have had a moment to leave; it restarts from
// what is on disk.
import { Level } from 'level'
import { mkdirSync } from 'node:fs'
import { ErrorCode, P2payError } from '../errors.ts'
import type { BucketRegistry, TableSpecs, TablesOf } from './tables.ts'

export type Json = any

/** Exit code of a process whose store failed a write (EX_SOFTWARE). */
export const FATAL_EXIT_CODE = 70
/** How long a process whose store failed lets the error answers of its requests in flight go out before it exits. */
export const FATAL_GRACE_MS = 1000

export class Table<V extends Json = Json> {
  readonly map = new Map<string, V>()
  readonly dirty = new Map<string, V | undefined>()
  /** Values before this turn's first change, so a failed request leaves no trace. */
  private readonly undo = new Map<string, V | undefined>()
  readonly name: string
  constructor(name: string) {
    this.name = name
  }
  get(key: string): V | undefined {
    return this.map.get(key)
  }
  has(key: string): boolean {
    return this.map.has(key)
  }
  set(key: string, value: V): void {
    this.touch(key)
    this.map.set(key, value)
    this.dirty.set(key, value)
  }
  delete(key: string): void {
    this.touch(key)
    this.map.delete(key)
    this.dirty.set(key, undefined)
  }
  private touch(key: string): void {
    if (!this.undo.has(key)) this.undo.set(key, this.map.get(key))
  }
  /** Called when the dirty entries were handed to a batch. */
  settle(): void {
    this.dirty.clear()
    this.undo.clear()
  }
  values(): IterableIterator<V> {
    return this.map.values()
  }
  entries(): IterableIterator<[string, V]> {
    return this.map.entries()
  }
  get size(): number {
    return this.map.size
  }
  /** Forgets unsaved changes (a request that failed half-way). */
  rollback(): void {
    for (const [k, v] of this.undo) {
      if (v === undefined) this.map.delete(k)
      else this.map.set(k, v)
    }
    this.dirty.clear()
    this.undo.clear()
  }
}

/**
 * LevelDB's block cache: every table is read into memory once, at open (see `table`), and never read back from
 * LevelDB, so a cache of blocks (8 MiB by default) would only keep what the maps already hold.
 */
const BLOCK_CACHE_BYTES = 512 * 1024
/**
 * LevelDB's memtable: synced batches are small (a payment's records), so 1 MiB holds thousands of them before a
 * flush; the default 4 MiB (8 while one is flushed) is resident memory a node keeps for nothing.
 */
const WRITE_BUFFER_BYTES = 1024 * 1024

export class Store {
  readonly db: Level<string, Json>
  private readonly loaded = new Map<string, Table>()
  private readonly sublevels = new Map<string, any>()
  private queue: Array<{ ops: any[]; resolve: () => void; reject: (e: Error) => void }> = []
  private flushing = false
  private closed = false
  /** the first failed write: everything after it fails with this */
  private failure?: P2payError
  /** Number of synced batch writes, and ops written, for metrics and benchmarks. */
  stats = { batches: 0, ops: 0 }

  readonly dir: string
  readonly sync: boolean
  /** the daemon's bucket registry: only these buckets open (none given: any) */
  private readonly registry?: BucketRegistry
  constructor(dir: string, opts: { sync?: boolean; buckets?: BucketRegistry } = {}) {
    this.dir = dir
    this.sync = opts.sync ?? true
    this.registry = opts.buckets
    mkdirSync(dir, { recursive: true })
    this.db = new Level<string, Json>(dir, {
      valueEncoding: 'json',
      cacheSize: BLOCK_CACHE_BYTES,
      writeBufferSize: WRITE_BUFFER_BYTES
    })
  }

  async open(): Promise<void> {
    await this.db.open()
  }

  /** Loads a bucket completely into memory. */
  async table<V extends Json = Json>(name: string): Promise<Table<V>> {
    if (this.registry != null && !Object.hasOwn(this.registry, name)) {
      throw new TypeError(`bucket ${name} is not in this daemon's bucket registry`)
    }
    const existing = this.loaded.get(name)
    if (existing != null) return existing as Table<V>
    const t = new Table<V>(name)
    const sub = this.db.sublevel<string, V>(name, { valueEncoding: 'json' })
    this.sublevels.set(name, sub)
    for await (const [k, v] of sub.iterator()) t.map.set(k, v)
    this.loaded.set(name, t as Table)
    return t
  }

  /** Loads every table of a scheme's declarations, typed by them. */
  async tables<S extends TableSpecs>(specs: S): Promise<TablesOf<S>> {
    const out: Record<string, Table> = {}
    for (const [name, spec] of Object.entries(specs)) out[name] = await this.table(spec.bucket)
    return out as TablesOf<S>
  }

  /**
   * Takes every dirty entry of every table into one batch and resolves once it
   * is on disk. Call it right after a synchronous state change, before replying.
   */
  async commit(): Promise<void> {
    if (this.failure != null) {
      this.rollback()
      throw this.failure
    }
    const ops: any[] = []
    for (const t of this.loaded.values()) {
      if (t.dirty.size === 0) continue
      const sublevel = this.sublevels.get(t.name)
      for (const [key, value] of t.dirty) {
        ops.push(value === undefined ? { type: 'del', sublevel, key } : { type: 'put', sublevel, key, value })
      }
      t.settle()
    }
    if (ops.length === 0) return await this.barrier()
    return await new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  /** Resolves once everything committed so far is on disk (for reads that must not show unsynced state). */
  async barrier(): Promise<void> {
    if (this.failure != null) throw this.failure
    if (!this.flushing && this.queue.length === 0) return
    return await new Promise<void>((resolve, reject) => {
      this.queue.push({ ops: [], resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  /** Undoes the uncommitted changes of a request that failed half-way. */
  rollback(): void {
    for (const t of this.loaded.values()) t.rollback()
  }

  /**
   * Runs a synchronous state change; on throw every table is restored, on
   * success the change is committed and the result returned once it is durable.
   */
  async apply<T>(change: () => T): Promise<T> {
    let result: T
    try {
      result = change()
    } catch (err) {
      this.rollback()
      throw err
    }
    await this.commit()
    return result
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.queue.length > 0) {
        const group = this.queue
        this.queue = []
        const ops = group.flatMap(g => g.ops)
        try {
          if (this.failure != null) throw this.failure
          if (this.closed) throw new Error('store is closed')
          if (ops.length > 0) {
            await this.db.batch(ops, { sync: this.sync })
            this.stats.batches++
            this.stats.ops += ops.length
          }
          for (const g of group) g.resolve()
        } catch (err) {
          // memory is now ahead of disk: nothing more is acknowledged, and the process stops
          const first = this.failure == null
          this.failure ??= new P2payError(ErrorCode.STORE_FAILED, 'store write failed: the daemon is exiting', {
            cause: (err as Error).message
          })
          for (const g of group) g.reject(this.failure)
          if (first) this.onFatal(err as Error)
        }
      }
    } finally {
      this.flushing = false
    }
  }

  /** The store failed a write (called once); by default the process exits with 70 after `FATAL_GRACE_MS`. */
  onFatal: (err: Error) => void = err => {
    process.stderr.write(JSON.stringify({ level: 'fatal', msg: 'store write failed', err: err.message }) + '\n')
    // not at once: the rejections above are still on their way to the requests' error answers
    setTimeout(() => process.exit(FATAL_EXIT_CODE), FATAL_GRACE_MS)
  }

  async close(): Promise<void> {
    if (this.failure == null) await this.barrier()
    this.closed = true
    await this.db.close()
  }
}
