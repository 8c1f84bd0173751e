import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { RedisNode } from '../../src/lib/redis-connection.js'
import { eventually } from './eventually.js'
import { freePort } from './ports.js'
import { spawnRedis, type RedisProcess } from './redis-processes.js'

const run = promisify(execFile)

/** A Redis Cluster of the test's own: three primaries on local ports, no replicas, nothing on disk. */
export interface OwnRedisCluster {
  /** Every primary, as `redis.cluster` lists them. */
  nodes: RedisNode[]
}

export async function startOwnRedisCluster(t: Test, primaries = 3): Promise<OwnRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-redis-cluster-'))
  const processes: RedisProcess[] = []
  t.teardown(async () => {
    for (const process of processes) await process.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const nodes: RedisNode[] = []
  for (let i = 0; i < primaries; i++) {
    const port = await freePort()
    // The bus port is named, not left at port + 10000, which may be taken or past 65535.
    const busPort = await freePort()
    processes.push(
      await spawnRedis(t, port, [
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
      ]),
    )
    nodes.push({ host: '127.0.0.1', port })
  }
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-yes'], { timeout: 30_000 })
  const ready = await eventually(t, () => everyNodeSays(nodes, 'cluster_state:ok'), {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: 'every node of the cluster says cluster_state:ok',
  })
  if (!ready) throw new Error('the Redis Cluster did not form')
  return { nodes }
}

async function everyNodeSays(nodes: RedisNode[], text: string): Promise<boolean> {
  for (const node of nodes) {
    const probe = new Redis(node.port, node.host, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    const info = await probe.cluster('INFO').catch(() => '')
    probe.disconnect()
    if (!String(info).includes(text)) return false
  }
  return true
}
