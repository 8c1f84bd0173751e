import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { RunningCommands, runHook, type HookContext } from '../../src/agent/after-refresh.js'
import { eventually } from '../support/eventually.js'

/** afterRefresh hooks: a command run as written (no shell) with a timeout, or a signal to the process of a pid file. */

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl'

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-hook-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const context = (file: string): HookContext => ({
  file,
  audience: 'ledger-api',
  scope: 'ledger:read',
  expiresAt: new Date('2026-11-29T12:05:00.000Z'),
  redact: (text) => text.replaceAll(TOKEN, '[redacted]'),
  env: { PATH: process.env.PATH, KEPT: 'from the agent' },
})

const command = (argv: string[], timeoutSeconds = 30) => ({ command: argv, timeoutSeconds })

t.test('a command runs as written, without a shell, knowing the file, audience, scope and expiry but not the token', async (t) => {
  const dir = scratch(t)
  const out = join(dir, 'out.json')
  const script = `require('fs').writeFileSync(process.argv[1], JSON.stringify({ args: process.argv.slice(2), env: {
    STS_TOKEN_FILE: process.env.STS_TOKEN_FILE, STS_AUDIENCE: process.env.STS_AUDIENCE, STS_SCOPE: process.env.STS_SCOPE,
    STS_TOKEN_EXPIRES_AT: process.env.STS_TOKEN_EXPIRES_AT, KEPT: process.env.KEPT } }))`
  const outcome = await runHook(
    command([process.execPath, '-e', script, out, '$HOME; touch pwned', '*']),
    context('/run/sts/ledger.token'),
    new RunningCommands(),
  )
  t.same(outcome, { ok: true })
  t.same(JSON.parse(readFileSync(out, 'utf8')), {
    args: ['$HOME; touch pwned', '*'],
    env: {
      STS_TOKEN_FILE: '/run/sts/ledger.token',
      STS_AUDIENCE: 'ledger-api',
      STS_SCOPE: 'ledger:read',
      STS_TOKEN_EXPIRES_AT: '2026-11-29T12:05:00.000Z',
      KEPT: 'from the agent',
    },
  })
})

t.test('a failing command is reported with its status and what it said, the token taken out', async (t) => {
  const failing = await runHook(
    command([process.execPath, '-e', `process.stderr.write('reload failed for ${TOKEN}\\n'); process.exit(3)`]),
    context('/run/a'),
    new RunningCommands(),
  )
  t.same(failing, { ok: false, problem: `${process.execPath} exited with status 3: reload failed for [redacted]` })
  const missing = await runHook(command(['/nonexistent/reload']), context('/run/a'), new RunningCommands())
  t.same(missing, { ok: false, problem: '/nonexistent/reload could not be started: spawn /nonexistent/reload ENOENT' })
})

t.test('a command past its timeout is killed and reported', async (t) => {
  const started = performance.now()
  const outcome = await runHook(
    command([process.execPath, '-e', 'setTimeout(() => {}, 60_000)'], 0.3),
    context('/run/a'),
    new RunningCommands(),
  )
  t.same(outcome, { ok: false, problem: `${process.execPath} did not finish within 0.3 s and was killed` })
  t.ok(performance.now() - started < 5_000, 'not waited for')
})

t.test('stopping the agent ends the commands still running', async (t) => {
  const running = new RunningCommands()
  const pending = runHook(command([process.execPath, '-e', 'setTimeout(() => {}, 60_000)']), context('/run/a'), running)
  await new Promise((resolve) => setTimeout(resolve, 200))
  running.terminate()
  t.same(await pending, { ok: false, problem: `${process.execPath} was ended by SIGTERM` })
})

t.test('a signal goes to the process whose pid the file holds', async (t) => {
  const dir = scratch(t)
  const pidFile = join(dir, 'app.pid')
  const heard = join(dir, 'heard')
  const app = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); process.on('SIGUSR1', () => fs.appendFileSync(${JSON.stringify(heard)}, 'usr1\\n')); fs.writeFileSync(${JSON.stringify(pidFile)}, process.pid + '\\n'); setInterval(() => {}, 1000)`,
    ],
    { stdio: 'ignore' },
  )
  t.teardown(() => app.kill('SIGKILL'))
  await eventually(t, () => readFileSync(pidFile, { encoding: 'utf8', flag: 'a+' }) !== '', { what: 'the app wrote its pid' })

  const hook = { signal: { pidFile, signal: 'SIGUSR1' }, timeoutSeconds: 30 }
  t.same(await runHook(hook, context('/run/a'), new RunningCommands()), { ok: true })
  // Heard before the second is sent: two of one signal pending at once are delivered as one.
  await eventually(t, () => readFileSync(heard, { encoding: 'utf8', flag: 'a+' }), {
    until: (text) => text === 'usr1\n',
    what: 'the first signal heard',
  })
  t.same(await runHook(hook, context('/run/a'), new RunningCommands()), { ok: true })
  await eventually(t, () => readFileSync(heard, { encoding: 'utf8', flag: 'a+' }), {
    until: (text) => text === 'usr1\nusr1\n',
    what: 'two signals heard',
  })
})

t.test('a pid file that is missing, holds no pid, or names no process is reported', async (t) => {
  const dir = scratch(t)
  const pidFile = join(dir, 'app.pid')
  const hook = { signal: { pidFile, signal: 'SIGHUP' }, timeoutSeconds: 30 }
  t.match(await runHook(hook, context('/run/a'), new RunningCommands()), {
    ok: false,
    problem: new RegExp(`^cannot read the pid file ${pidFile}: ENOENT`),
  })
  for (const text of ['', 'nginx\n', '0\n', '-1']) {
    writeFileSync(pidFile, text)
    t.same(
      await runHook(hook, context('/run/a'), new RunningCommands()),
      { ok: false, problem: `the pid file ${pidFile} does not hold a process id` },
      JSON.stringify(text),
    )
  }
  writeFileSync(pidFile, '4194304\n') // above Linux's largest pid
  t.same(await runHook(hook, context('/run/a'), new RunningCommands()), {
    ok: false,
    problem: `cannot send SIGHUP to process 4194304 (from ${pidFile}): ESRCH`,
  })
})
