// Which files a Dockerfile puts where, worked out without docker: the build context after
// .dockerignore, then per stage FROM, WORKDIR, COPY (globs, directories, --from=<stage>) and the
// stage's RUN commands when they only prune files with `find` on relative paths (run for real in a
// scratch copy of the stage's files). Anything else a stage runs before `npm ci` cannot be modelled
// and is reported, so the model never passes a Dockerfile it does not understand.
// Used by test/docker-image.test.ts: every workspace's package.json must reach `npm ci` and the
// final image, whatever the number of workspaces.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'

/** Go filepath.Match patterns (plus `**`, as .dockerignore allows) as a whole-path regex. */
export function globRegex(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*'
      i++
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i)
      re += pattern
        .slice(i, end + 1)
        .replace('[^', '[^/')
        .replace('[!', '[^/')
      i = end
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** .dockerignore as docker reads it: a path is out when the last pattern matching it or a parent says so. */
export function ignoreMatcher(dockerignore: string): (path: string) => boolean {
  const rules = dockerignore
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
    .map(l => {
      const negate = l.startsWith('!')
      const p = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '')
      return { negate, re: globRegex(p) }
    })
  return (path: string): boolean => {
    const parts = path.split('/')
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
    let out = false
    for (const r of rules) if (prefixes.some(p => r.re.test(p))) out = !r.negate
    return out
  }
}

/** The build context's files (paths relative to `root`), .dockerignore applied. */
export function contextFiles(root: string, dockerignore: string): Set<string> {
  const ignored = ignoreMatcher(dockerignore)
  const files = new Set<string>()
  const walk = (rel: string): void => {
    let entries
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // removed while we walk (a test's temp dir)
      throw err
    }
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (ignored(p) && !dockerignore.includes('!')) continue
      if (e.isDirectory()) walk(p)
      else if (!ignored(p)) files.add(p)
    }
  }
  walk('')
  return files
}

interface Stage {
  name: string
  workdir: string
  files: Set<string> // absolute paths in the image
}

/** What the model saw: each stage's files where `npm ci` runs (if it does) and at its end. */
export interface ImageModel {
  install?: { stage: string; workdir: string; files: Set<string> }
  final: Stage
}

const words = (s: string): string[] => s.trim().split(/\s+/)

/** Paths of `files` that a COPY source (relative to `base`, which is '' for a context) names. */
function copySources(src: string, files: Set<string>, base: string): Map<string, string> {
  const pattern = posix.normalize(posix.join(base, src)).replace(/\/$/, '')
  const re = globRegex(pattern)
  const out = new Map<string, string>() // file -> path under the destination
  for (const f of files) {
    const parts = f.split('/')
    for (let i = 1; i <= parts.length; i++) {
      const head = parts.slice(0, i).join('/')
      if (!re.test(head)) continue
      // a matched file lands by its name; a matched directory brings its contents
      out.set(f, i === parts.length ? parts[i - 1] : parts.slice(i).join('/'))
      break
    }
  }
  return out
}

/** Runs a pruning `find` RUN in a scratch copy of the stage; throws for any other command. */
function runPrune(stage: Stage, cmd: string): void {
  const steps = cmd.split('&&').map(s => s.trim())
  for (const s of steps) {
    if (!s.startsWith('find ') || words(s).some(w => w.startsWith('/')) || /[;|`$><]/.test(s))
      throw new Error(`cannot model RUN in stage ${stage.name}: ${cmd}`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'p2pay-image-model-'))
  try {
    for (const f of stage.files) {
      mkdirSync(join(dir, dirname(f)), { recursive: true })
      writeFileSync(join(dir, f), '')
    }
    const cwd = join(dir, stage.workdir)
    mkdirSync(cwd, { recursive: true })
    execFileSync('sh', ['-c', cmd], { cwd, stdio: 'pipe' })
    const left = new Set<string>()
    const walk = (abs: string): void => {
      for (const e of readdirSync(join(dir, abs))) {
        const p = posix.join(abs, e)
        if (statSync(join(dir, p)).isDirectory()) walk(p)
        else left.add(p)
      }
    }
    walk('/')
    stage.files = left
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Models the image `dockerfile` builds from `context` (relative paths of the context's files). */
export function modelImage(dockerfile: string, context: Set<string>): ImageModel {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
  const stages: Stage[] = []
  let install: ImageModel['install']
  let cur: Stage | undefined
  for (const l of lines) {
    const [op, ...rest] = words(l)
    const args = l.slice(op.length).trim()
    switch (op.toUpperCase()) {
      case 'FROM': {
        const parent = stages.find(s => s.name === rest[0])
        const name = rest[1]?.toUpperCase() === 'AS' ? rest[2] : String(stages.length)
        cur = { name, workdir: parent?.workdir ?? '/', files: new Set(parent?.files ?? []) }
        stages.push(cur)
        break
      }
      case 'WORKDIR':
        if (cur != null) cur.workdir = posix.resolve(cur.workdir, args)
        break
      case 'COPY': {
        if (cur == null) break
        const flags = rest.filter(w => w.startsWith('--'))
        const paths = rest.filter(w => !w.startsWith('--'))
        const fromName = flags.find(f => f.startsWith('--from='))?.slice('--from='.length)
        const from = fromName == null ? undefined : stages.find(s => s.name === fromName)
        if (fromName != null && from == null) throw new Error(`COPY --from=${fromName}: no such stage`)
        const dest = posix.resolve(cur.workdir, paths.at(-1) ?? '.')
        const srcFiles = from == null ? context : new Set([...from.files].map(f => f.slice(1)))
        for (const src of paths.slice(0, -1)) {
          for (const [, under] of copySources(src.replace(/^\//, ''), srcFiles, '')) {
            cur.files.add(posix.join(dest, under))
          }
        }
        break
      }
      case 'RUN':
        if (cur == null) break
        if (/\bnpm\s+ci\b/.test(args)) {
          install ??= { stage: cur.name, workdir: cur.workdir, files: new Set(cur.files) }
        } else if (dockerfile.includes(`--from=${cur.name}`)) {
          // a stage copied into another before npm ci: its pruning decides what reaches the install
          runPrune(cur, args)
        }
        break
    }
  }
  if (cur == null) throw new Error('no FROM in the Dockerfile')
  return { install, final: cur }
}

/** The workspaces' package.json paths (relative), from the root package.json's `workspaces` globs. */
export function workspaceManifests(root: string, workspaces: string[]): string[] {
  const out: string[] = []
  for (const w of workspaces) {
    const re = globRegex(w.replace(/\/$/, ''))
    const top = w.split('/')[0]
    for (const e of readdirSync(join(root, top), { withFileTypes: true })) {
      const rel = `${top}/${e.name}`
      if (!e.isDirectory() || !re.test(rel)) continue
      try {
        if (statSync(join(root, rel, 'package.json')).isFile()) out.push(`${rel}/package.json`)
      } catch {}
    }
  }
  return out.sort()
}

/** Workspace manifests that would be missing where `npm ci` runs or from the final image's /app. */
export function missingWorkspaces(model: ImageModel, manifests: string[]): { install: string[]; final: string[] } {
  const missingIn = (workdir: string, files: Set<string>): string[] =>
    manifests.filter(m => !files.has(posix.join(workdir, m)))
  return {
    install: model.install == null ? ['(no RUN npm ci)'] : missingIn(model.install.workdir, model.install.files),
    final: missingIn(model.final.workdir, model.final.files)
  }
}
