import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { eventually } from './eventually.js'

/** A redis-server (or redis-sentinel) the test started, on a port of its own; never the shared 6379. */
export interface RedisProcess {
  port: number
  /** SIGKILL, as a crash: nothing is saved, nobody is told. */
  stop(): Promise<void>
}

/** Starts `command` (redis-server by default) with `args` on `port`, resolves once it answers PING. */
export async function spawnRedis(t: Test, port: number, args: string[], command = 'redis-server'): Promise<RedisProcess> {
  const base = command === 'redis-server' ? ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'] : []
  const child: ChildProcess = spawn(command, [...args, ...base], { stdio: 'ignore' })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  t.teardown(stop)
  const answering = await eventually(t, () => pings(port), { intervalMs: 50, what: `${command} answers on port ${port}` })
  if (!answering) throw new Error(`${command} did not start on port ${port}`)
  return { port, stop }
}

async function pings(port: number): Promise<boolean> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  const answer = await probe.connect().then(
    () => probe.ping(),
    () => undefined,
  )
  probe.disconnect()
  return answer === 'PONG'
}
