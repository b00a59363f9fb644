// Typed table declarations. A scheme declares its LevelDB tables once, each
// with its bucket name and what it maps (`key -> value`); the daemon that
// hosts the scheme lists the buckets in its registry, and the store opens
// only registered buckets. The value type travels with the declaration, so
// opening tables needs no casts.
import { Table, type Json } from './store.ts'

export interface TableSpec<V> {
  /** the LevelDB sublevel: `<scheme>-<table>` */
  readonly bucket: string
  /** `key -> value`, in words */
  readonly doc: string
  /** never set: carries the value type */
  readonly value?: V
}

export type TableSpecs = Record<string, TableSpec<any>>

export type TablesOf<S extends TableSpecs> = { [K in keyof S]: S[K] extends TableSpec<infer V> ? Table<V> : never }

/** Declares one table: `table<Coin>('ppay-coins', 'sn -> the coin record')`. */
export function table<V extends Json>(bucket: string, doc: string): TableSpec<V> {
  return { bucket, doc }
}

/** A daemon's buckets: bucket name -> what it maps. */
export type BucketRegistry = Readonly<Record<string, string>>

/** The registry of the given table declarations; a bucket declared twice is a programming error. */
export function buckets(...groups: TableSpecs[]): BucketRegistry {
  const out: Record<string, string> = {}
  for (const g of groups) {
    for (const spec of Object.values(g)) {
      if (Object.hasOwn(out, spec.bucket)) throw new TypeError(`bucket ${spec.bucket} declared twice`)
      out[spec.bucket] = spec.doc
    }
  }
  return Object.freeze(out)
}

/** The tables of `specs` in memory only, with no store behind them (pure cores' unit tests). */
export function memoryTables<S extends TableSpecs>(specs: S): TablesOf<S> {
  const out: Record<string, Table> = {}
  for (const [name, spec] of Object.entries(specs)) out[name] = new Table(spec.bucket)
  return out as TablesOf<S>
}
