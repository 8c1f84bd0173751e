import t from 'tap'
import { eventually } from './eventually.js'

/** The wait that replaced the tests' sleeps must end as soon as it can, and fail the test when it must. */
function recording() {
  const failures: { message: string; found: unknown }[] = []
  return { failures, test: { fail: (message: string, extra: { found: unknown }) => failures.push({ message, found: extra.found }) } }
}

t.test('returns the awaited answer as soon as it comes, and fails nothing', async (t) => {
  const { failures, test } = recording()
  let calls = 0
  const started = performance.now()
  const answer = await eventually(test, () => ++calls, { until: (n) => n === 3, timeoutMs: 5000, intervalMs: 1 })
  t.equal(answer, 3)
  t.ok(performance.now() - started < 1000, 'long before the deadline')
  t.same(failures, [])
})

t.test('past the deadline: the test fails, naming what was awaited and the last answer, which is returned', async (t) => {
  const { failures, test } = recording()
  const started = performance.now()
  const answer = await eventually(test, async () => 503, {
    until: (status) => status === 200,
    timeoutMs: 100,
    intervalMs: 20,
    what: 'serves again',
  })
  const elapsed = performance.now() - started
  t.equal(answer, 503)
  t.same(failures, [{ message: 'serves again: not so after 100 ms', found: 503 }])
  t.ok(elapsed >= 100 && elapsed < 1000, `waited the deadline out, and no longer (${elapsed.toFixed(0)} ms)`)
})

t.test('a check that throws ends the wait with its error', async (t) => {
  const { failures, test } = recording()
  await t.rejects(
    eventually(test, () => Promise.reject(new Error('the service exited'))),
    { message: 'the service exited' },
  )
  t.same(failures, [])
})
