// The docker image installs every workspace package, whatever their number: the Dockerfile and
// .dockerignore are modelled without docker (scripts/compose/image-model.ts) and every
// packages/*/package.json must reach the stage where `npm ci` runs and the final image. A
// Dockerfile that lists the workspaces by hand and misses one, or a .dockerignore that drops one,
// must fail the same check. (scripts/compose-testnet builds and runs the real image.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  contextFiles,
  ignoreMatcher,
  missingWorkspaces,
  modelImage,
  workspaceManifests
} from '../scripts/compose/image-model.ts'

const root = join(import.meta.dirname, '..')
const read = (f: string): string => readFileSync(join(root, f), 'utf8')
const manifests = workspaceManifests(root, JSON.parse(read('package.json')).workspaces)
const dockerignore = read('.dockerignore')
const context = contextFiles(root, dockerignore)

test('the workspaces are found: every packages/* with a package.json', () => {
  assert.ok(manifests.length >= 10, `${manifests.length} workspaces`)
  assert.ok(manifests.includes('packages/karma/package.json'))
  assert.ok(manifests.includes('packages/cli/package.json'))
})

test('the Dockerfile brings every workspace manifest to npm ci and every workspace to the image', () => {
  const model = modelImage(read('Dockerfile'), context)
  assert.ok(model.install != null, 'a stage runs npm ci')
  assert.deepEqual(missingWorkspaces(model, manifests), { install: [], final: [] })
  // only manifests reach npm ci, so a source change keeps the installed layer cached
  const installed = [...model.install.files].filter(f => f.includes('/packages/'))
  assert.ok(installed.length > 0 && installed.every(f => f.endsWith('/package.json')), installed.join(' '))
  // the daemons run the sources and the entry point
  assert.ok(model.final.files.has('/app/packages/karma/src/index.ts'))
  assert.ok(model.final.files.has('/app/scripts/docker-entrypoint.sh'))
})

test('the Dockerfile takes its base image as a build argument, node:24-bookworm-slim by default', () => {
  const df = read('Dockerfile')
  assert.match(df, /^ARG BASE=node:24-bookworm-slim$/m)
  const froms = df.split('\n').filter(l => /^FROM\s/.test(l))
  assert.ok(froms.length > 0 && froms.every(l => l.startsWith('FROM ${BASE}')), froms.join(' | '))
})

test('a Dockerfile that lists the workspaces by hand and misses one fails the check', () => {
  const listed = manifests.filter(m => m !== 'packages/karma/package.json')
  const byHand = [
    'FROM node:24-bookworm-slim',
    'WORKDIR /app',
    'COPY package.json package-lock.json ./',
    ...listed.map(m => `COPY ${m} ${m.replace(/package\.json$/, '')}`),
    'RUN npm ci --omit=dev',
    'COPY packages packages'
  ].join('\n')
  const missing = missingWorkspaces(modelImage(byHand, context), manifests)
  assert.deepEqual(missing.install, ['packages/karma/package.json'])
  assert.deepEqual(missing.final, [])
  // the same list complete passes, so the check fails for the missing one and nothing else
  const complete = byHand.replace('RUN npm ci', 'COPY packages/karma/package.json packages/karma/\nRUN npm ci')
  assert.deepEqual(missingWorkspaces(modelImage(complete, context), manifests), { install: [], final: [] })
})

test('a glob COPY flattens the manifests into one directory and fails the check', () => {
  const flat = ['FROM x', 'WORKDIR /app', 'COPY packages/*/package.json packages/', 'RUN npm ci'].join('\n')
  assert.equal(missingWorkspaces(modelImage(flat, context), manifests).install.length, manifests.length)
})

test('the pruning in the manifests stage is run for real: one that keeps too little fails the check', () => {
  const df = read('Dockerfile')
  const narrow = df.replace('packages/[^/]*/package', 'packages/[a-j][^/]*/package')
  assert.notEqual(narrow, df, 'the Dockerfile prunes with find -regex')
  const missing = missingWorkspaces(modelImage(narrow, context), manifests).install
  assert.ok(missing.includes('packages/karma/package.json') && !missing.includes('packages/core/package.json'))
})

test('a .dockerignore that drops a workspace fails the check with the real Dockerfile', () => {
  const dropped = dockerignore + '\npackages/ppay\n'
  const model = modelImage(read('Dockerfile'), contextFiles(root, dropped))
  const missing = missingWorkspaces(model, manifests)
  assert.deepEqual(missing.install, ['packages/ppay/package.json'])
  assert.deepEqual(missing.final, ['packages/ppay/package.json'])
})

test('.dockerignore rules: parents match, the last matching rule wins, ! brings a path back', () => {
  const ignored = ignoreMatcher(
    'node_modules\npackages/*/test\n**/*.log\npackages/core/test/keep.ts\n!packages/core/test/keep.ts'
  )
  assert.equal(ignored('node_modules/level/index.js'), true)
  assert.equal(ignored('packages/karma/test/a.test.ts'), true)
  assert.equal(ignored('packages/karma/src/a.ts'), false)
  assert.equal(ignored('packages/karma/src/debug.log'), true)
  assert.equal(ignored('packages/core/test/keep.ts'), false)
})

test('a RUN the model cannot follow before npm ci is reported, not passed', () => {
  const df = [
    'FROM x AS m',
    'COPY packages /m/packages',
    'RUN rm -rf /m/packages/karma',
    'FROM x',
    'COPY --from=m /m/packages /app/packages',
    'RUN npm ci'
  ].join('\n')
  assert.throws(() => modelImage(df, context), /cannot model RUN/)
})
