import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

/**
 * The real service as a child process (`node dist/src/server.js`), started the way an operator would:
 * a configuration file in STS_CONFIG, secrets and addresses in the environment.
 */

const SERVER_SCRIPT = fileURLToPath(new URL('../../src/server.js', import.meta.url))
const LOG_LINES_KEPT = 40
/** One key-encryption key for every instance of this run: they share the database, and so the signing keys. */
const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64')
const SOURCE_HASH_KEY = randomBytes(32).toString('base64')

export interface ServiceLaunch {
  configFile: string
  port: number
  databaseUrl: string
  redisUrl: string
  adminToken: string
  workDir: string
  workers: number
  /** The service's entry point: this build's by default, another build's to compare two commits in one session. */
  serverScript?: string
  /** When set, the service runs under `node --cpu-prof` and writes its profile here on exit. */
  cpuProfileDir?: string
}

export interface RunningService {
  baseUrl: string
  pid: number
  /** The last lines the service wrote (stdout and stderr), for a failure report. */
  recentLog(): string[]
  /** Resolves when the process has ended, however it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, as an orchestrator would; SIGKILL after `graceMs`. Says whether it left cleanly (exit 0). */
  stop(graceMs?: number): Promise<{ clean: boolean; description: string }>
}

export function launchService(launch: ServiceLaunch): RunningService {
  const env: NodeJS.ProcessEnv = {}
  // Only what a service needs from the shell; every STS setting comes from the bench, none leaks in.
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[name] !== undefined) env[name] = process.env[name]
  Object.assign(env, {
    STS_CONFIG: launch.configFile,
    HOST: '127.0.0.1',
    PORT: String(launch.port),
    DATABASE_URL: launch.databaseUrl,
    REDIS_URL: launch.redisUrl,
    STS_ADMIN_TOKEN: launch.adminToken,
    STS_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
    STS_SOURCE_HASH_KEY: SOURCE_HASH_KEY,
    LOG_LEVEL: 'warn',
    STS_WORKERS: String(launch.workers),
    NODE_ENV: 'production',
  })
  const profile = launch.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${launch.cpuProfileDir}`] : []
  const child = spawn(process.execPath, [...profile, launch.serverScript ?? SERVER_SCRIPT], {
    cwd: launch.workDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log = keepRecentLines(child)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (error) => {
      log.push(`could not start ${process.execPath}: ${error.message}`)
      resolve({ code: null, signal: null })
    })
  })
  return {
    baseUrl: `http://127.0.0.1:${launch.port}`,
    pid: child.pid ?? -1,
    recentLog: () => [...log],
    exited,
    stop: (graceMs = 10_000) => stopChild(child, exited, graceMs),
  }
}

/** Polls /readyz (ledger and revocation store reachable) until it answers 200 or the service dies. */
export async function waitUntilReady(service: RunningService, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let ended = false
  void service.exited.then(() => (ended = true))
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    if (ended) throw new Error('the service exited before it was ready')
    try {
      const response = await fetch(`${service.baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) })
      if (response.status === 200) return
      last = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
  throw new Error(`the service was not ready within ${timeoutMs / 1000} s (last /readyz: ${last})`)
}

async function stopChild(
  child: ChildProcess,
  exited: RunningService['exited'],
  graceMs: number,
): Promise<{ clean: boolean; description: string }> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)))
  const outcome = await Promise.race([exited, timedOut])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    child.kill('SIGKILL')
    await exited
    return { clean: false, description: `did not exit within ${graceMs / 1000} s of SIGTERM; killed` }
  }
  const clean = outcome.code === 0
  return {
    clean,
    description: clean ? 'exited 0 after SIGTERM' : `ended with ${outcome.signal ?? `exit code ${outcome.code}`} after SIGTERM`,
  }
}

function keepRecentLines(child: ChildProcess): string[] {
  const lines: string[] = []
  const take = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue
      lines.push(line.length > 500 ? `${line.slice(0, 500)}...` : line)
      if (lines.length > LOG_LINES_KEPT) lines.shift()
    }
  }
  child.stdout?.on('data', take)
  child.stderr?.on('data', take)
  return lines
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(an unparsable URL)'
  }
}
