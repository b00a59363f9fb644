// The LevelDB tables of WhoPay's group side (key -> value): the judge's opener key and openings, the broker's group
// (issuer key, gpk, record) and registry of members, a node's member key. Keys and envelopes are kept as base64.
import { table } from '@p2pay/core'
import type { OpeningCase } from '../core/opener.ts'

/** The judge's opener key and the signed part it published, made at its first start and kept. */
export interface KeptOpenerKey {
  /** the BBS04 opener key (xi1, xi2) */
  key: string
  /** the `whopay/opener` envelope */
  envelope: string
  at: number
}

/** The broker's group: its issuer key, and the record it signed on the judge's opener part. */
export interface KeptGroup {
  /** the BBS04 issuer key gamma */
  issuer: string
  gpk: string
  /** the `whopay/group` envelope */
  record: string
  /** the judge's `whopay/opener` envelope it was built on */
  opener: string
  judge: string
  at: number
}

/** A member of the broker's group: the peer that joined (over its long-term identity) and when. */
export interface RegistryEntry {
  peer: string
  joined: number
}

/** A node's member key, and the group it belongs to. */
export interface KeptMember {
  /** the BBS04 member key (A, x) */
  key: string
  /** the group: its public key, the broker's `whopay/group` envelope and that envelope's hash */
  group: { gpk: string; record: string; hash: string }
  /** the judge's `whopay/opener` envelope the group was checked against */
  opener: string
  broker: string
  judge: string
  at: number
}

export const OPENER_TABLES = {
  key: table<KeptOpenerKey>('whopay-opener-key', '"key" -> the judge\'s opener key and its signed opener part'),
  openings: table<OpeningCase>('whopay-openings', 'evidence hash -> the two signed openings of that case')
}

export const GROUP_TABLES = {
  group: table<KeptGroup>('whopay-group', '"group" -> the issuer key, the gpk and the signed group record'),
  registry: table<RegistryEntry>('whopay-registry', 'base64 member id A -> the peer that joined with it'),
  members: table<{ key: string }>('whopay-members', 'peer id -> its member key (base64): a repeated join gets it')
}

export const MEMBER_TABLES = {
  member: table<KeptMember>('whopay-member', '"member" -> this node\'s member key and the group it checked')
}
