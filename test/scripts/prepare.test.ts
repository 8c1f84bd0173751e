import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'

/**
 * `npx sts` right after `npm ci`: npm runs `prepare` after a local install, so it builds the CLI; where
 * it cannot build (no TypeScript with --omit=dev, no sources in the image's dependency layer) it says
 * so and lets the install go on. Run here in throwaway projects whose `build` only leaves a mark.
 */
const PREPARE = new URL('../../scripts/prepare.mjs', import.meta.url).pathname
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>
  bin: Record<string, string>
}

function project(t: Test, options: { typescript: boolean; sources: boolean; build: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-prepare-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', private: true, scripts: { build: options.build } }))
  if (options.sources) writeFileSync(join(dir, 'tsconfig.build.json'), '{}')
  if (options.typescript) {
    mkdirSync(join(dir, 'node_modules', 'typescript'), { recursive: true })
    writeFileSync(join(dir, 'node_modules', 'typescript', 'package.json'), JSON.stringify({ name: 'typescript', version: '5.9.0' }))
  }
  return dir
}

function prepare(cwd: string) {
  const run = spawnSync(process.execPath, [PREPARE], { cwd, encoding: 'utf8' })
  return { status: run.status, stdout: run.stdout }
}

const MARK = `node -e "require('fs').writeFileSync('built', '')"`

t.test('npm runs the prepare script, and the sts command is what the build makes', async (t) => {
  t.equal(PACKAGE.scripts.prepare, 'node scripts/prepare.mjs')
  t.same(PACKAGE.bin, { sts: 'dist/src/cli/main.js' })
  // The server, then the client package (packages/client) that the agent runs on.
  t.equal(PACKAGE.scripts.build, 'npm run build --workspace @seed-sts/client && tsc -p tsconfig.build.json')
})

t.test('with TypeScript and the sources, prepare builds', async (t) => {
  const dir = project(t, { typescript: true, sources: true, build: MARK })
  t.equal(prepare(dir).status, 0)
  t.ok(existsSync(join(dir, 'built')))
})

t.test('a build that fails fails the install', async (t) => {
  const dir = project(t, { typescript: true, sources: true, build: 'node -e "process.exit(3)"' })
  t.not(prepare(dir).status, 0)
})

t.test('without TypeScript (--omit=dev) or without the sources, prepare does not build, and says so', async (t) => {
  for (const [what, options] of [
    ['no TypeScript', { typescript: false, sources: true }],
    ['no sources', { typescript: true, sources: false }],
  ] as const) {
    const dir = project(t, { ...options, build: MARK })
    t.same(
      prepare(dir),
      { status: 0, stdout: 'prepare: no TypeScript or no sources here (a production install, or dependencies only): not building\n' },
      what,
    )
    t.notOk(existsSync(join(dir, 'built')), what)
  }
})

t.test('the build leaves the sts command executable, as npx needs it to be after a clean build', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-postbuild-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bin = join(dir, PACKAGE.bin.sts)
  mkdirSync(join(bin, '..'), { recursive: true })
  writeFileSync(bin, '#!/usr/bin/env node\n', { mode: 0o644 })
  t.equal(spawnSync(PACKAGE.scripts.postbuild, { cwd: dir, shell: true }).status, 0)
  t.equal(statSync(bin).mode & 0o777, 0o755)
})

t.test("the image's dependency layer has the prepare script its npm ci runs", async (t) => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
  const install = dockerfile.indexOf('RUN npm ci')
  t.ok(install > 0, 'the image installs with npm ci')
  t.match(dockerfile.slice(0, install), /^COPY scripts\/prepare\.mjs \.\/scripts\/prepare\.mjs$/m)
})
