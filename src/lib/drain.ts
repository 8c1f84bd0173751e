/**
 * The process's one "we are stopping" switch, and the count of requests still being answered. On
 * SIGTERM server.ts begins the drain: readiness turns 503, new requests are refused with 503 and
 * `Connection: close`, long-lived streams end, and the requests in flight are waited for (up to the
 * drain time, after which their connections are closed).
 *
 * @example
 * const drain = new Drain()
 * drain.onBegin(() => stream.end())
 * drain.begin()
 * await drain.settled()
 */
export class Drain {
  private began = false
  private inFlight = 0
  private readonly beginListeners = new Set<() => void>()
  private settledWaiters: (() => void)[] = []

  get draining(): boolean {
    return this.began
  }

  /** Calls every listener once; later calls do nothing. */
  begin(): void {
    if (this.began) return
    this.began = true
    for (const listener of [...this.beginListeners]) listener()
    this.beginListeners.clear()
    this.check()
  }

  /** `listener` runs when the drain begins (at once if it has). Returns a function that unsubscribes. */
  onBegin(listener: () => void): () => void {
    if (this.began) {
      listener()
      return () => {}
    }
    this.beginListeners.add(listener)
    return () => this.beginListeners.delete(listener)
  }

  /** Counts one request until the returned function is called (once; later calls do nothing). */
  track(): () => void {
    this.inFlight++
    let done = false
    return () => {
      if (done) return
      done = true
      this.inFlight--
      this.check()
    }
  }

  get requestsInFlight(): number {
    return this.inFlight
  }

  /** Resolves once the drain has begun and no request is in flight. */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve)
      this.check()
    })
  }

  private check(): void {
    if (!this.began || this.inFlight > 0) return
    const waiters = this.settledWaiters
    this.settledWaiters = []
    for (const resolve of waiters) resolve()
  }
}
