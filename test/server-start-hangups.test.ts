import t, { type Test } from 'tap'
import { baseConfig } from './support/compiled-server.js'
import { eventually } from './support/eventually.js'
import { serverReady, startServerProcess, type ServerProcess } from './support/server-process.js'

/**
 * SIGHUP while the compiled server starts (src/server.ts, src/lib/hang-ups.ts): held, acted on once the
 * service is ready, never the end of the process (Node's default for SIGHUP). The signals begin as soon
 * as the process loads its first package, which NODE_DEBUG=module reports on its stderr, and go on every
 * few milliseconds through the whole start. (Before that, Node has not run any of our code: nothing in
 * a process can catch a signal then.)
 */

const ENV = {
  STS_ADMIN_TOKEN: 'server-hangup-test-admin-token-0123',
  LOG_LEVEL: 'info',
  STS_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
  NODE_DEBUG: 'module',
}

async function config(t: Test, extra: Record<string, unknown> = {}) {
  return { ...(await baseConfig(t)).config, ...extra }
}

/** Ended by a signal, a process has no exit code: only its signal says it is gone. */
const running = (started: ServerProcess) => started.child.exitCode === null && started.child.signalCode === null
const readyz = (started: ServerProcess) => fetch(`${started.url}/readyz`).then((r) => r.ok)
const messages = (started: ServerProcess, msg: string) => started.logs().filter((line) => line.msg === msg)

/**
 * Sends SIGHUP every 5 ms from the first package the process loads until `isStarted()` holds, and 300 ms
 * more; stops early if the process exits. Answers how many were sent.
 */
async function hangUpThroughStart(started: ServerProcess, isStarted: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + 60_000
  while (!/node_modules[\\/]/.test(started.output())) {
    if (!running(started) || performance.now() > deadline) return 0
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  let sent = 0
  const hangUp = setInterval(() => {
    if (running(started) && started.child.kill('SIGHUP')) sent++
  }, 5)
  try {
    while (running(started) && performance.now() < deadline && !(await isStarted().catch(() => false)))
      await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    clearInterval(hangUp)
  }
  return sent
}

t.test('SIGHUP all through the start: the process comes up, reloads once ready, and stays up', async (t) => {
  const started = await startServerProcess(t, await config(t), ENV, { bare: true })
  const sent = await hangUpThroughStart(started, () => readyz(started))
  t.same([started.child.exitCode, started.child.signalCode], [null, null], `still running after ${sent} SIGHUPs`)
  t.ok(sent > 20, `SIGHUPs were sent through the start (${sent})`)
  await serverReady(t, started)
  const [held] = messages(started, 'SIGHUP during start: reloading the configuration now')
  t.match(held, { level: 30, signal: 'SIGHUP', held: Number }, 'those of the start are held, then acted on once')
  t.ok((held?.held as number) > 0, `${String(held?.held)} held`)
  t.ok(messages(started, 'configuration reloaded: nothing changed').length >= 2, 'and every SIGHUP after it reloads')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await readyz(started), true, 'it still serves')
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'and stops as usual')
})

t.test('with workers, SIGHUP to the primary all through the start: no worker is lost, the primary stays up', async (t) => {
  const started = await startServerProcess(t, await config(t, { workers: 2 }), ENV, { bare: true })
  const workersReady = async () => messages(started, 'seed-sts is ready').length >= 2
  const sent = await hangUpThroughStart(started, workersReady)
  t.same([started.child.exitCode, started.child.signalCode], [null, null], `the primary is still running after ${sent} SIGHUPs`)
  t.ok(sent > 20, `SIGHUPs were sent through the start (${sent})`)
  await eventually(t, workersReady, { until: (ready) => ready, timeoutMs: 30_000, what: 'both workers are ready' })
  t.same(messages(started, 'a worker exited; starting another'), [], 'no worker ended')
  t.equal(new Set(messages(started, 'seed-sts is ready').map((line) => line.pid)).size, 2, 'the two first workers are the ones ready')
  t.ok(messages(started, 'asking every worker to reload its configuration').length > 0, 'the SIGHUPs were passed on')
  t.equal(await readyz(started), true, 'it serves')
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'and stops as usual')
})
