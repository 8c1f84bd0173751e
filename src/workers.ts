import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { RELOAD_MESSAGE, type HangUps } from './lib/hang-ups.js'
import { RESTORE_REFUSED_EXIT_CODE } from './restore/restore-guard.js'

/**
 * Several worker processes sharing one listening port (node:cluster), so one instance uses every
 * core. Only the primary runs this; each worker is a whole service of its own on the shared Postgres
 * and Redis (config refuses workers > 1 on the embedded stores). A worker that dies is replaced; on
 * SIGTERM or SIGINT every worker drains, then the primary exits; SIGHUP is passed to every worker (as
 * a message: src/lib/hang-ups.ts), and each reloads its configuration (src/reload/).
 */
export function runWorkers(count: number, logger: Logger, hangUps: HangUps): void {
  let stopping = false
  const startedAt = new Map<number, number>()
  const fork = (): void => {
    const worker = cluster.fork()
    startedAt.set(worker.id, Date.now())
  }
  cluster.on('exit', (worker: Worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0)
    startedAt.delete(worker.id)
    if (stopping) {
      // 0, unless a worker refused to start (below).
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit()
      return
    }
    // Refused on a restored database: every worker would be, until an operator confirms; say so and stop.
    if (code === RESTORE_REFUSED_EXIT_CODE) {
      logger.fatal({ worker: worker.process.pid, code }, 'a worker refused to start on a restored database; stopping')
      process.exitCode = RESTORE_REFUSED_EXIT_CODE
      stop('SIGTERM')
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit()
      return
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'a worker exited; starting another')
    // A worker that cannot even start (bad configuration, stores down) must not become a fork loop.
    setTimeout(fork, lived < 5000 ? 2000 : 0)
  })
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping the workers')
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // The primary holds no configuration that can change at run time: it asks the workers. A worker gone
  // meanwhile is told through the callback, rather than as an 'error' nobody listens to.
  const held = hangUps.handle(() => {
    const workers = Object.values(cluster.workers ?? {})
    logger.info({ signal: 'SIGHUP', workers: workers.length }, 'asking every worker to reload its configuration')
    for (const worker of workers) worker?.send({ type: RELOAD_MESSAGE }, undefined, () => {})
  })
  // Before any worker was started: each reads the configuration as it is when it starts.
  if (held > 0) logger.info({ signal: 'SIGHUP', held }, 'SIGHUP before the workers started: they read the configuration as it is now')
  logger.info({ workers: count }, 'starting worker processes')
  for (let i = 0; i < count; i++) fork()
}

export function isPrimary(): boolean {
  return cluster.isPrimary
}

/** True in a worker process that runWorkers forked. */
export function isWorker(): boolean {
  return cluster.isWorker
}
