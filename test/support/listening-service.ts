import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { startTestService, type TestService, type TestServiceOptions } from './service.js'

/**
 * A test service (test/support/service.ts: real Postgres and Redis, an injected clock) that also
 * listens on a loopback port, for clients that speak real HTTP to it (the client package's token
 * source). `restart` closes it and starts another on the same port, database, Redis prefix, keys and
 * cluster: an STS restart as a client sees it, connections refused while it is down.
 */
export interface ListeningService {
  sts: TestService
  url: string
  /** Stops the service; call `start` to bring it back. */
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startListeningService(t: Test, options: TestServiceOptions = {}): Promise<ListeningService> {
  const first = await startTestService(t, options)
  await first.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (first.app.server.address() as AddressInfo).port
  const stable: TestServiceOptions = {
    ...options,
    now: first.clock.now(),
    cluster: first.cluster,
    ...(first.databaseUrl === undefined ? {} : { databaseUrl: first.databaseUrl }),
    redisKeyPrefix: String(first.services.config.redis.keyPrefix),
    keysDir: String(first.services.config.keys.dir),
  }
  const listening: ListeningService = {
    sts: first,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await listening.sts.app.close()
      await listening.sts.services.close()
    },
    async start() {
      const next = await startTestService(t, { ...stable, now: listening.sts.clock.now() })
      await next.app.listen({ port, host: '127.0.0.1' })
      listening.sts = next
    },
  }
  return listening
}
