import { AsyncLocalStorage } from 'node:async_hooks'
import type { Context } from '@opentelemetry/api'

/**
 * Which span the code running now belongs to: the exchange's phase, for the database and Redis calls it
 * makes. Our own store, not OpenTelemetry's global context manager, so nothing global is registered and
 * two services in one process (tests) never see each other's spans.
 *
 * The exchange marks its phases inline (src/exchange/token-exchange.ts), not by wrapping each in a
 * callback, so a phase is entered with `enterWith`: from that call on, the rest of the exchange and
 * whatever it awaits run in the phase's context, until the next phase is entered.
 */
export class SpanScope {
  private readonly storage = new AsyncLocalStorage<Context>()

  /** The context of the traced exchange running now; undefined outside any (background work). */
  current(): Context | undefined {
    return this.storage.getStore()
  }

  enter(context: Context): void {
    this.storage.enterWith(context)
  }

  /** Runs `work` in `context`, and only `work`: its caller keeps its own. */
  run<T>(context: Context, work: () => T): T {
    return this.storage.run(context, work)
  }
}
