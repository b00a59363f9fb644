// The first module of a BBS04 worker thread: plain JavaScript, so it can turn on the compile cache before any
// TypeScript loads. Each thread has its own module loader; without this, every worker stripped group-worker.ts and
// its imports in memory, which loads Node's TypeScript stripper (tens of MiB resident) into the thread.
import module from 'node:module'

module.enableCompileCache?.()
await import('./group-worker.ts')
