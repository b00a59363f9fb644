// Preloaded into a daemon with --import (P2PAY_NODE_ARGS): appends every module each thread of the process loads to
// $P2PAY_MODULE_LOG/<pid>.log as `<thread id> <url>`, so a test can see what a daemon loaded and on which thread.
import module from 'node:module'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { threadId } from 'node:worker_threads'

const dir = process.env.P2PAY_MODULE_LOG
if (dir != null && dir !== '') {
  const file = join(dir, `${process.pid}.log`)
  module.registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(file, `${threadId} ${url}\n`)
      return nextLoad(url, context)
    }
  })
}
