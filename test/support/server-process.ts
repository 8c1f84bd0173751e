import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { eventually } from './eventually.js'
import { freePort } from './ports.js'

/** The service as it is started in production: the compiled server, a config file, signals. */
const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname

export interface ServerProcess {
  child: ChildProcess
  url: string
  /** The configuration file the process was started with (and reads again on SIGHUP). */
  file: string
  /** Replaces the configuration file (JSON), keeping the key directory of the start. */
  write(config: Record<string, unknown>): void
  /** Everything the process wrote, stdout and stderr. */
  output(): string
  /** The JSON log lines written so far. */
  logs(): Record<string, unknown>[]
  exited: Promise<number | null>
}

export interface ServerProcessOptions {
  /**
   * Without the test runner's preloads: tap hands every child process its --import hooks through
   * NODE_OPTIONS, and with them a SIGHUP listener of its own, which would hide how the server itself
   * takes a signal before it has run its own code.
   */
  bare?: boolean
}

/** Starts dist/src/server.js with `config` in a file of its own; killed at the end of the test. */
export async function startServerProcess(
  t: Test,
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-server-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sts.json')
  const write = (content: Record<string, unknown>) => writeFileSync(file, JSON.stringify({ keys: { dir: join(dir, 'keys') }, ...content }))
  write(config)
  const port = await freePort()
  const command = [process.execPath, SERVER, '--config', file]
  // env(1) drops NODE_OPTIONS, which tap sets on every spawn whatever `env` says, then execs node: one process.
  const [program, ...args] = options.bare ? ['env', '-u', 'NODE_OPTIONS', ...command] : command
  const child = spawn(program!, args, {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const logs = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  return { child, url: `http://127.0.0.1:${port}`, file, write, output: () => output, logs, exited }
}

/** Waits for /readyz to answer 200; throws with the output if the process exits or never gets there. */
export async function serverReady(t: Test, started: ServerProcess): Promise<void> {
  const answered = await eventually(
    t,
    async () => {
      const { exitCode, signalCode } = started.child
      // Ended by a signal, a process has no exit code: only its signal says it is gone.
      if (exitCode !== null || signalCode !== null) throw new Error(`the service exited (${exitCode ?? signalCode}): ${started.output()}`)
      return fetch(`${started.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    },
    { intervalMs: 100, timeoutMs: 20_000, what: 'the service answers /readyz' },
  )
  if (!answered) throw new Error(`the service did not become ready: ${started.output()}`)
}
