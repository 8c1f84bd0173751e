import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { eventually } from './eventually.js'
import { freePort } from './ports.js'

/**
 * A Redis server of the test's own, keeping nothing on disk, so a test can restart it and get an
 * empty Redis back, as after a crash of a Redis without persistence.
 */
export interface OwnRedis {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startOwnRedis(t: Test): Promise<OwnRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const answering = await eventually(
      t,
      async () => {
        const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        probe.on('error', () => {})
        const answer = await probe.connect().then(
          () => probe.ping(),
          () => undefined,
        )
        probe.disconnect()
        return answer === 'PONG'
      },
      { intervalMs: 50, what: `redis-server answers on port ${port}` },
    )
    if (!answering) throw new Error(`redis-server did not start on port ${port}`)
  }
  const stop = async () => {
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  t.teardown(stop)
  return { url: `redis://127.0.0.1:${port}`, start, stop }
}
