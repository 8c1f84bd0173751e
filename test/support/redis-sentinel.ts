import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { RedisNode } from '../../src/lib/redis-connection.js'
import { eventually } from './eventually.js'
import { freePort } from './ports.js'
import { spawnRedis, type RedisProcess } from './redis-processes.js'

export const SENTINEL_MASTER = 'sts-primary'

/**
 * A primary, a replica and three Sentinels of the test's own (quorum two), nothing on disk: what
 * `redis.sentinels` and `redis.name` point at. The test can fail the primary over, gracefully or by
 * killing it, and wait for the Sentinels to name the new one.
 */
export interface OwnSentinel {
  endpoint: { sentinels: RedisNode[]; name: string }
  /** The primary the Sentinels name now. */
  primary(): Promise<RedisNode>
  /** SIGKILLs the current primary (a crash); the Sentinels promote the replica once they agree it is down. */
  killPrimary(): Promise<RedisNode>
  /** `SENTINEL FAILOVER`: the primary becomes a replica of the replica, promoted. */
  failover(): Promise<RedisNode>
  /** Resolves once the Sentinels know a replica that is in sync with the primary (one to fail over to). */
  replicaInSync(): Promise<void>
  /** Resolves with the new primary once the Sentinels name one other than `old` and it says it is a master. */
  promotedAfter(old: RedisNode, timeoutMs?: number): Promise<RedisNode>
}

export async function startOwnSentinel(t: Test): Promise<OwnSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-redis-sentinel-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const servers = new Map<number, RedisProcess>()
  const primaryPort = await freePort()
  servers.set(primaryPort, await spawnRedis(t, primaryPort, ['--dir', dir]))
  const replicaPort = await freePort()
  servers.set(replicaPort, await spawnRedis(t, replicaPort, ['--dir', dir, '--replicaof', '127.0.0.1', String(primaryPort)]))

  const sentinels: RedisNode[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    // Sentinel rewrites its configuration file (what it learns): one writable file each.
    const file = join(dir, `sentinel-${port}.conf`)
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    )
    await spawnRedis(t, port, [file], 'redis-sentinel')
    sentinels.push({ host: '127.0.0.1', port })
  }

  const ask = async (...command: string[]): Promise<unknown> => {
    for (const sentinel of sentinels) {
      const client = new Redis(sentinel.port, sentinel.host, { maxRetriesPerRequest: 0, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        return await client.call('SENTINEL', ...command)
      } catch {
        // That one is not answering: ask the next.
      } finally {
        client.disconnect()
      }
    }
    throw new Error('no Sentinel answers')
  }
  const primary = async (): Promise<RedisNode> => {
    const [host, port] = (await ask('get-master-addr-by-name', SENTINEL_MASTER)) as [string, string]
    return { host, port: Number(port) }
  }
  // Failovers need every Sentinel to know the replica and the other Sentinels.
  const acquainted = await eventually(
    t,
    async () => {
      const replicas = (await ask('replicas', SENTINEL_MASTER)) as unknown[]
      const others = (await ask('sentinels', SENTINEL_MASTER)) as unknown[]
      return replicas.length === 1 && others.length === 2
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the Sentinels know the replica and each other' },
  )
  if (!acquainted) throw new Error('the Sentinels did not find the replica and each other')

  const promotedAfter = async (old: RedisNode, timeoutMs = 30_000): Promise<RedisNode> => {
    let found = old
    await eventually(
      t,
      async () => {
        found = await primary().catch(() => old)
        return found.port !== old.port && (await role(found)) === 'master'
      },
      { timeoutMs, intervalMs: 100, what: `the Sentinels promote a new primary in place of port ${old.port}` },
    )
    return found
  }
  const replicaInSync = async (): Promise<void> => {
    const synced = await eventually(
      t,
      async () => {
        const replicas = (await ask('replicas', SENTINEL_MASTER).catch(() => [])) as string[][]
        return replicas.some((fields) => {
          const field = (name: string) => fields[fields.indexOf(name) + 1]
          return field('master-link-status') === 'ok' && !/s_down|disconnected/.test(field('flags') ?? '')
        })
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the Sentinels know a replica in sync' },
    )
    if (!synced) throw new Error('no replica in sync to fail over to')
  }
  return {
    endpoint: { sentinels, name: SENTINEL_MASTER },
    replicaInSync,
    primary,
    promotedAfter,
    async killPrimary() {
      const current = await primary()
      await servers.get(current.port)?.stop()
      return current
    },
    async failover() {
      const current = await primary()
      await ask('failover', SENTINEL_MASTER)
      return promotedAfter(current)
    },
  }
}

async function role(node: RedisNode): Promise<string | undefined> {
  const client = new Redis(node.port, node.host, { maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    const [name] = (await client.call('ROLE')) as [string]
    return name
  } catch {
    return undefined
  } finally {
    client.disconnect()
  }
}
