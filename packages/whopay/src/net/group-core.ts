// BBS04 and the records built on it, loaded at their first use by the broker's group and the judge: mcl-wasm costs
// about 20 MiB resident on the thread that loads it, so nothing a node loads at start imports it statically.
export interface GroupCore {
  bbs: typeof import('../core/bbs04.ts')
  record: typeof import('../core/group-record.ts')
  opener: typeof import('../core/opener.ts')
}

let loading: Promise<GroupCore> | undefined

export async function loadGroupCore(): Promise<GroupCore> {
  loading ??= Promise.all([
    import('../core/bbs04.ts'),
    import('../core/group-record.ts'),
    import('../core/opener.ts')
  ]).then(([bbs, record, opener]) => ({ bbs, record, opener }))
  return await loading
}
