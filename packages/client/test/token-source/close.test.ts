import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { issued, refused, UNAVAILABLE } from '../support/sts-stand-in.js'
import { harness } from './setup.js'

t.test('close() stops the refresh timer and every retry; calls after it fail', async (t) => {
  const { source, time } = harness(t, () => issued())
  await source.token({ audience: 'a' })
  await source.token({ audience: 'b' })
  t.same(
    time.pending(),
    { total: 2, referenced: 0, next: 240_000 + time.now() },
    'one refresh timer per token, none keeping the process alive',
  )
  source.close()
  t.same(time.pending(), { total: 0, referenced: 0 })
  await t.rejects(source.token({ audience: 'a' }), { message: 'the token source is closed' })
})

t.test('a caller waiting out a retry keeps the process alive, and is told when the source closes', async (t) => {
  const { source, time } = harness(t, () => refused(503, UNAVAILABLE))
  const waiting = source.token()
  waiting.catch(() => {})
  await time.settle()
  t.match(time.pending(), { total: 1, referenced: 1 }, 'the retry timer of a waited-for flight is ref’d')
  source.close()
  await t.rejects(waiting, { message: 'the token source is closed' })
  t.same(time.pending(), { total: 0, referenced: 0 })
})

/**
 * Runs exit-probe.ts in a process of its own, with tap's TypeScript loader; resolves with its exit
 * and how long it lingered after printing its result (loading TypeScript takes its own time, which
 * does not count).
 */
function probe(scenario: string): Promise<{ code: number | null; output: string; lingeredMs: number }> {
  const script = fileURLToPath(new URL('../support/exit-probe.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv.filter((flag) => flag.includes('typescript')), script, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let printedAt: number | undefined
  let deadline: NodeJS.Timeout | undefined
  child.stdout.on('data', (chunk) => {
    output += chunk
    printedAt ??= Date.now()
    // A process kept alive by a timer would wait for its refresh (48 minutes): cut it short.
    deadline ??= setTimeout(() => child.kill('SIGKILL'), 10_000)
  })
  child.stderr.on('data', (chunk) => (output += chunk))
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(deadline)
      resolve({ code, output, lingeredMs: Date.now() - (printedAt ?? Date.now()) })
    }),
  )
}

t.test('with real timers: a token source alone never keeps a process alive, but a caller is never abandoned', async (t) => {
  const idle = await probe('refresh-pending')
  t.same({ code: idle.code, output: idle.output.trim() }, { code: 0, output: 'got access-token-1' })
  t.ok(idle.lingeredMs < 5_000, `the process ended with its work, its hourly refresh pending (${idle.lingeredMs} ms after)`)

  const retried = await probe('retry-after')
  t.same(
    { code: retried.code, output: retried.output.trim() },
    { code: 0, output: 'got access-token-3 after 2 retries' },
    'the caller got its token',
  )
})
