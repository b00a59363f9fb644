#!/usr/bin/env node
// libp2p 3 needs Node >= 22. When started by an older system Node, re-run
// under the Node 24 that the project installs as a dependency.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts')
if (major >= 22) {
  await import(main)
} else {
  const require = createRequire(import.meta.url)
  let node
  try {
    node = join(dirname(require.resolve('node/package.json')), 'bin', 'node')
  } catch {
    process.stderr.write(`p2pay needs Node >= 22 (found ${process.version}); run 'npm ci' in the repository first\n`)
    process.exit(1)
  }
  const child = spawn(node, [main, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}
