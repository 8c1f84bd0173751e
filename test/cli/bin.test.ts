import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

/** The compiled `sts` as npm installs it (`npm test` builds first; alone: `npm run build && npx tap test/cli/bin.test.ts`). */
const BIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin?: Record<string, string> }

const sts = (entry: string, argv: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [entry, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 })

t.test('package.json names the compiled CLI as the sts command, and it is a node script', async (t) => {
  t.same(PACKAGE.bin, { sts: 'dist/src/cli/main.js' })
  t.equal(readFileSync(BIN, 'utf8').split('\n')[0], '#!/usr/bin/env node')
})

t.test('the compiled sts prints its help and sets its exit code', async (t) => {
  const help = sts(BIN, ['--help'])
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, /^sts: the command line of the Seed STS admin API\n[^]*\nexit codes:\n/)
  t.equal(help.stderr, '')

  const noToken = sts(BIN, ['grants', 'list'])
  t.equal(noToken.status, 2)
  t.equal(noToken.stderr, 'sts: STS_ADMIN_TOKEN is not set: export the admin API token first (it is never printed)\n')

  const unreachable = sts(BIN, ['grants', 'list', '--url', 'http://127.0.0.1:1'], { STS_ADMIN_TOKEN: 'bin-test-admin-token-0123456789' })
  t.equal(unreachable.status, 3, unreachable.stderr)
})

t.test('run through a symlink, as npm links a bin, it still knows it is the program', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-bin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const link = join(dir, 'sts')
  symlinkSync(BIN, link)
  const help = sts(link, ['--help'])
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, /^sts: the command line/)
})
