/** What eventually needs of a tap test: a way to fail it. */
export interface FailableTest {
  fail(message: string, extra: { found: unknown }): unknown
}

export interface EventuallyOptions<T> {
  /** Whether an answer of `check` is the awaited one; by default, whether it is truthy. */
  until?: (answer: T) => boolean
  /**
   * The longest wait, past which the test fails. 5 s by default: what tests wait for happens within
   * milliseconds, the rest is room for a busy machine. Where the test's claim is a bound ("within the
   * staleness bound"), pass that bound plus a margin.
   */
  timeoutMs?: number
  /** The pause between two checks: 10 ms by default; checks that cost a request deserve longer. */
  intervalMs?: number
  /** What is awaited, for the failure message. */
  what?: string
}

/**
 * Asks `check` until its answer is the awaited one and returns that answer: a test waits for the thing
 * it waits for, never for a guessed number of milliseconds. Past the deadline the test fails, naming
 * `what` and the last answer, and that answer is returned, so the test's own assertions still say
 * what was seen. An error thrown by `check` ends the wait and propagates.
 *
 * @example const status = await eventually(t, async () => (await sts.exchange(request)).statusCode, { until: (s) => s === 200, intervalMs: 100 })
 */
export async function eventually<T>(t: FailableTest, check: () => T | Promise<T>, options: EventuallyOptions<T> = {}): Promise<T> {
  const { until = Boolean, timeoutMs = 5000, intervalMs = 10, what = 'the awaited condition' } = options
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const answer = await check()
    if (until(answer)) return answer
    const left = deadline - performance.now()
    if (left <= 0) {
      t.fail(`${what}: not so after ${timeoutMs} ms`, { found: answer })
      return answer
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)))
  }
}
