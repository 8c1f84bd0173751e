import { buildApp } from './app.js'
import { composeServices } from './compose.js'
import { ConfigError, configSourceFromProcess, loadConfig } from './config.js'
import { createLogger } from './lib/logger.js'
import { primaryScrape } from './metrics/cluster-metrics.js'
import { listenForScrapes } from './metrics/metrics-server.js'
import { RestoredDatabaseError } from './restore/restore-guard.js'
import type { HangUps } from './lib/hang-ups.js'
import { isPrimary, runWorkers } from './workers.js'

/**
 * Load config -> build services and app -> listen; SIGTERM/SIGINT drain and close within
 * shutdown.drainSeconds; SIGHUP reloads the configuration (src/reload/), and never stops the process:
 * one that came during start (held since src/server.ts began) reloads once the service is ready.
 */
async function main(hangUps: HangUps): Promise<void> {
  const source = configSourceFromProcess()
  let loaded
  try {
    loaded = loadConfig(source)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`seed-sts: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const { config } = loaded
  const logger = createLogger(config.logLevel)
  // A promise nobody awaited failing is a defect to log, not a reason to drop every request in flight.
  // (Store faults are handled where they happen: src/db/postgres.ts.)
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'))
  if (loaded.usedDevelopmentDefaults && isPrimary()) {
    logger.warn(
      { issuer: config.issuer, trustDomain: config.trustDomain },
      'no configuration file (STS_CONFIG or --config): running on development defaults',
    )
  }
  if (config.workers > 1 && isPrimary()) {
    // The primary combines the workers' metrics (each worker's /metrics asks it), and answers on
    // metrics.port itself when there is one.
    if (config.metrics.enabled) {
      const scrape = primaryScrape()
      if (config.metrics.port !== undefined) (await listenForScrapes(scrape, config.host, config.metrics.port, logger)).unref()
    }
    runWorkers(config.workers, logger, hangUps)
    return
  }
  const services = await composeServices(config, logger, { configSource: source })
  const reload = () => {
    try {
      services.reloads.reloadHere('SIGHUP')
    } catch (error) {
      // A defect, not a reason to stop serving with the configuration in force.
      logger.error({ err: error }, 'configuration reload failed: the running configuration is kept')
    }
  }
  // The configuration was read at start, but the file may have changed after: read it again, once.
  const held = hangUps.handle(reload)
  if (held > 0) {
    logger.info({ signal: 'SIGHUP', held }, 'SIGHUP during start: reloading the configuration now')
    reload()
  }
  const app = await buildApp(services)
  app.addHook('onClose', async () => services.close())

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    const drainMs = config.shutdown.drainSeconds * 1000
    logger.info(
      { signal, drainSeconds: config.shutdown.drainSeconds, requestsInFlight: services.drain.requestsInFlight },
      'draining and shutting down',
    )
    // Whatever the clients do, the process ends: at the deadline every connection still open is
    // closed, and if closing still hangs (a store that does not answer), it exits anyway.
    const deadline = setTimeout(() => {
      logger.warn({ requestsInFlight: services.drain.requestsInFlight }, 'drain time is up: closing the connections still open')
      app.server.closeAllConnections()
      // And any connection made since, until the listener is closed.
      setInterval(() => app.server.closeAllConnections(), 250).unref()
      setTimeout(() => {
        logger.error('could not close within the drain time; exiting')
        process.exit(1)
      }, 3000).unref()
    }, drainMs)
    deadline.unref()
    // Readiness turns 503 and new requests are refused at once; streams get a last event and end.
    services.drain.begin()
    services.drain
      .settled()
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  // With workers, the primary answers on metrics.port for all of them (above).
  if (services.scrape && config.metrics.port !== undefined && config.workers === 1) {
    const metricsServer = await listenForScrapes(services.scrape, config.host, config.metrics.port, logger)
    app.addHook('onClose', async () => {
      metricsServer.closeAllConnections()
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()))
    })
  }
  await app.listen({ host: config.host, port: config.port })
  logger.info({ issuer: config.issuer, attestors: services.runtime.current().attestors.list() }, 'seed-sts is ready')
}

/** Runs the service (or, with workers, their primary); a start that fails ends the process with its code. */
export async function serve(hangUps: HangUps): Promise<void> {
  await main(hangUps).catch((error: unknown) => {
    process.stderr.write(`seed-sts: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
    // A refusal to start on a restored database has its own code, so an orchestrator can tell it apart.
    process.exit(error instanceof ConfigError ? 2 : error instanceof RestoredDatabaseError ? error.exitCode : 1)
  })
}
