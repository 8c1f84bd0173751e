import cluster from 'node:cluster'

/** How the primary passes a SIGHUP on to its workers (src/workers.ts): a message, never the signal. */
export const RELOAD_MESSAGE = 'sts:reload'

/** SIGHUPs, held until there is something to reload. */
export interface HangUps {
  /** From now on, each SIGHUP calls `onHangUp`. Answers how many came before and were held. */
  handle(onHangUp: () => void): number
}

/**
 * SIGHUP asks for a reload (src/reload/), and Node's default for it is to end the process. This is the
 * first thing the server does (src/server.ts, before it loads anything else), so a SIGHUP during start,
 * while there is nothing to reload yet, is held and acted on once the service is ready, never fatal.
 * (One that arrives before Node has run any of our code, in a process's first tens of milliseconds,
 * still ends it: nothing in the process can catch it then.)
 *
 * In a worker, the primary's message counts as a SIGHUP: the primary sends a message rather than the
 * signal because a worker it has just forked may not have run this yet. A message that comes before
 * does no harm: the worker has not read its configuration yet, and reads it as it is now.
 */
export function holdHangUps(): HangUps {
  let held = 0
  let handler: (() => void) | undefined
  const hangUp = () => {
    if (handler) handler()
    else held++
  }
  process.on('SIGHUP', hangUp)
  if (cluster.isWorker) {
    process.on('message', (message: { type?: unknown } | null) => {
      if (message?.type === RELOAD_MESSAGE) hangUp()
    })
  }
  return {
    handle(onHangUp) {
      handler = onHangUp
      const before = held
      held = 0
      return before
    },
  }
}
