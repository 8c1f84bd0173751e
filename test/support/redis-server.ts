import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
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
    for (let i = 0; i < 100; i++) {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      const ok = await probe.connect().then(() => probe.ping(), () => undefined)
      probe.disconnect()
      if (ok === 'PONG') return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`redis-server did not start on port ${port}`)
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
