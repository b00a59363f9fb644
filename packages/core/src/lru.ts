// A map bounded in size that forgets its least recently used entry first: for
// caches keyed by what peers name (ids in messages), which must not grow with
// what anyone sends.
export class Lru<K, V> {
  private readonly map = new Map<K, V>()
  readonly max: number

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be a positive integer')
    this.max = max
  }

  get size(): number {
    return this.map.size
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, v)
    return v
  }

  /** Without counting as a use. */
  peek(key: K): V | undefined {
    return this.map.get(key)
  }

  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  clear(): void {
    this.map.clear()
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries()
  }
}
