// Ed25519 backends behind one interface. Node's OpenSSL path is the default
// (measured ~15x faster than pure JS here); @noble/curves is kept as the
// baseline the benchmark compares against.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'

export interface Ed25519Backend {
  readonly name: string
  sign(seed: Uint8Array, msg: Uint8Array): Uint8Array
  verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** Small bounded cache: building a KeyObject costs more than a verify. */
class KeyCache {
  private readonly map = new Map<string, KeyObject>()
  private readonly max: number
  constructor(max: number) {
    this.max = max
  }
  get(k: string, make: () => KeyObject): KeyObject {
    let v = this.map.get(k)
    if (v === undefined) {
      v = make()
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string)
      this.map.set(k, v)
    }
    return v
  }
}

export function nodeEd25519(): Ed25519Backend {
  const priv = new KeyCache(64)
  const pub = new KeyCache(4096)
  return {
    name: 'node:crypto',
    sign(seed, msg) {
      const key = priv.get(Buffer.from(seed).toString('base64'), () =>
        createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
      )
      return new Uint8Array(nodeSign(null, msg, key))
    },
    verify(publicKey, msg, sig) {
      if (publicKey.byteLength !== 32 || sig.byteLength !== 64) return false
      const key = pub.get(Buffer.from(publicKey).toString('base64'), () =>
        createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
      )
      try {
        return nodeVerify(null, msg, key, sig)
      } catch {
        return false
      }
    }
  }
}

export function nobleEd25519(): Ed25519Backend {
  return {
    name: '@noble/curves',
    sign: (seed, msg) => ed25519.sign(msg, seed),
    verify(publicKey, msg, sig) {
      // zip215: false gives RFC 8032 / OpenSSL semantics, so both backends accept exactly the same signatures
      try {
        return ed25519.verify(sig, msg, publicKey, { zip215: false })
      } catch {
        return false
      }
    }
  }
}
