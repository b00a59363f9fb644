// Anonymity on the wire, checked from what the other parties keep. O issues
// coins to B, B pays them to A; then A, as a holder, pays C via the owner O,
// pays C again through the broker while O is stopped, and deposits a coin at
// the broker. A reaches O, C and the broker from a fresh identity each time and
// signs with coin keys and its group key only. Afterwards, with every daemon
// stopped, A's long-term peer id (as its string, its multihash and its public
// key in raw, base64 and hex forms) is searched for in O's, C's and the
// broker's log files and LevelDB dirs, as raw bytes and as decoded LevelDB
// entries: no hit, except the broker's records of A's own join. The
// same search finds O's id in the broker's records and A's in its own log, so
// it can fail.
// (The broker's only records naming A are its join's: the member key it was
// issued, and the registry entry that lets an opening name it.)
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { peerIdFromString } from '@libp2p/peer-id'
import { waitFor, type Daemon } from './helpers/swarm.ts'
import { coins, heldCoin, joinAll, pay, purse, startWhopay, type WhopaySwarm } from './helpers/whopay.ts'

let s: WhopaySwarm
let broker: Daemon, O: Daemon, A: Daemon, B: Daemon, C: Daemon
/** bytes of the broker's log when A had joined: what follows is the coin traffic */
let brokerLogMark = 0

/** Every form a peer id may be written in: string, multihash bytes, public key raw, base64, base64url, hex. */
function forms(id: string): Array<{ name: string; bytes: Buffer }> {
  const p = peerIdFromString(id)
  const mh = Buffer.from(p.toMultihash().bytes)
  const pk = Buffer.from(p.publicKey!.raw)
  const text = (name: string, s: string): { name: string; bytes: Buffer } => ({ name, bytes: Buffer.from(s) })
  return [
    text('peer id', id),
    // without the common prefix: a compressed block may cut the string where another id shares it
    text('peer id tail', id.slice(12)),
    { name: 'multihash', bytes: mh },
    { name: 'public key', bytes: pk },
    ...[mh, pk].flatMap((b, i) => {
      const what = i === 0 ? 'multihash' : 'public key'
      return [
        text(`${what} base64`, b.toString('base64').replace(/=+$/, '')),
        text(`${what} base64url`, b.toString('base64url')),
        text(`${what} hex`, b.toString('hex'))
      ]
    })
  ]
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap(f => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

/** Where the raw bytes of `paths` (from byte `from` of the first) hold any form of `id`. */
function rawHits(paths: string[], id: string, from = 0): string[] {
  const hits: string[] = []
  for (const [i, p] of paths.entries()) {
    const bytes = readFileSync(p).subarray(i === 0 ? from : 0)
    for (const f of forms(id)) if (bytes.includes(f.bytes)) hits.push(`${p}: ${f.name}`)
  }
  return hits
}

/** The decoded LevelDB entries (key: value) of a stopped daemon's data dir that hold any form of `id`. */
async function dbHits(dataDir: string, id: string): Promise<string[]> {
  const db = new Level<string, string>(join(dataDir, 'db'), { valueEncoding: 'utf8' })
  const needles = forms(id).map(f => f.bytes.toString('latin1'))
  const hits: string[] = []
  try {
    for await (const [k, v] of db.iterator()) {
      const entry = `${k} ${v}`
      if (needles.some(n => entry.includes(n))) hits.push(entry.length > 300 ? entry.slice(0, 300) + '...' : entry)
    }
  } finally {
    await db.close()
  }
  return hits
}

const logOf = (d: Daemon): string => d.dataDir + '.log'
const dirOf = (d: Daemon): string[] => [logOf(d), ...files(d.dataDir)]

before(async () => {
  s = await startWhopay('whopay-anon', { nodes: 4, join: false })
  broker = s.broker
  ;[O, A, B, C] = s.nodes
  await broker.api('POST', '/v1/topup', { account: O.peerId, amount: 100 })
  await joinAll(s.nodes)
  brokerLogMark = statSync(logOf(broker)).size
})
after(async () => {
  await s?.swarm.stopAll()
})

test('A pays as a holder via the owner, via the broker, and deposits; none of them learns its peer id', async () => {
  await O.api('POST', '/v1/whopay/buy', { value: 1, count: 4 })
  await pay(O, B, 3)
  // B -> A: A is a payee here (B knows it); the owner sees only the fresh key A invoiced
  await pay(B, A, 3)
  const held = (await coins(A)).held.map((c: any) => c.coin)
  assert.equal(held.length, 3)
  await pay(A, C, 1)
  await O.stop()
  await pay(A, C, 1)
  await O.start()
  await A.api('POST', '/v1/whopay/deposit', {})
  assert.equal(await purse(broker, A), 1)
  await waitFor(
    "the owner adopted the broker's binding",
    async () => {
      const owned = new Map((await coins(O)).owned.map((c: any) => [c.coin, c.seq]))
      for (const coin of held) {
        const h = await heldCoin(C, coin)
        if (h != null && owned.get(coin) !== h.seq) return false
      }
      return true
    },
    30_000
  )
  assert.equal((await coins(C)).held.length, 2)

  // stopped (LevelDB closed, logs flushed), their dirs kept until after()
  await Promise.all([...s.nodes, s.judge, broker].map(async d => await d.stop()))
  const holder = A.peerId
  // the owner's and the payee's logs and data dirs: nothing at all
  assert.deepEqual(rawHits(dirOf(O), holder), [], "owner's files")
  assert.deepEqual(rawHits(dirOf(C), holder), [], "payee's files")
  assert.deepEqual(await dbHits(O.dataDir, holder), [], "owner's LevelDB")
  assert.deepEqual(await dbHits(C.dataDir, holder), [], "payee's LevelDB")
  // the broker: nothing in its log since A joined; in its LevelDB, only the records of A's join
  assert.deepEqual(rawHits([logOf(broker)], holder, brokerLogMark), [], "broker's log after the joins")
  const brokerDb = await dbHits(broker.dataDir, holder)
  assert.ok(brokerDb.length > 0, 'the join is on record')
  for (const hit of brokerDb) assert.match(hit, /^!whopay-(members|registry)!/, 'only the records of its join')

  // the owner and the broker log the remote peer of each holder call: fresh identities, one per call
  const fromIds = (d: Daemon, msg: string): string[] =>
    readFileSync(logOf(d), 'utf8')
      .split('\n')
      .filter(l => l.includes(`"msg":"${msg}"`))
      .map(l => JSON.parse(l).from)
  const fresh = [...fromIds(O, 'transferred'), ...fromIds(broker, 'downtime transfer'), ...fromIds(broker, 'deposited')]
  assert.ok(fresh.length >= 3, `holder calls logged: ${fresh.join(', ')}`)
  for (const id of fresh) assert.ok(typeof id === 'string' && id.startsWith('12D3KooW') && id !== holder)
  // the same search finds what is there
  assert.ok((await dbHits(broker.dataDir, O.peerId)).length > 0, "the owner's id in the broker's coin records")
  assert.ok(rawHits([logOf(A)], holder).length > 0, "A's id in its own log")
  assert.ok(rawHits(files(broker.dataDir), O.peerId).length > 0, "the owner's id in the broker's raw LevelDB files")
})
