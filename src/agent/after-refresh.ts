import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import type { AgentTokenConfig } from './agent-config.js'

/**
 * What runs after a new token is in its file (`afterRefresh`): a command, or a signal to a process
 * named by a pid file, so an application that reads its token once can be told to read it again.
 * A hook that fails is reported, never thrown: the token is in its file either way.
 */

export type AfterRefreshHook = NonNullable<AgentTokenConfig['afterRefresh']>

export type HookOutcome = { ok: true } | { ok: false; problem: string }

/** What the hook may know of the token: where it is and what it is for, never the token itself. */
export interface HookContext {
  file: string
  audience: string
  scope?: string
  expiresAt: Date
  /** Takes the token out of anything the hook printed, before that reaches a log line. */
  redact: (text: string) => string
  /** The agent's environment, which a command inherits. */
  env: Readonly<Record<string, string | undefined>>
}

/** The commands still running, so that stopping the agent can end them. */
export class RunningCommands {
  private readonly children = new Set<ChildProcess>()

  add(child: ChildProcess): void {
    this.children.add(child)
    child.once('close', () => this.children.delete(child))
  }

  terminate(): void {
    for (const child of this.children) child.kill('SIGTERM')
  }
}

export function runHook(hook: AfterRefreshHook, context: HookContext, running: RunningCommands): Promise<HookOutcome> {
  if (hook.signal !== undefined) return sendSignal(hook.signal.pidFile, hook.signal.signal)
  return runCommand(hook.command ?? [], hook.timeoutSeconds * 1000, context, running)
}

function runCommand(argv: string[], timeoutMs: number, context: HookContext, running: RunningCommands): Promise<HookOutcome> {
  const [program, ...args] = argv
  if (program === undefined) return Promise.resolve({ ok: false, problem: 'no command to run' })
  const env: Record<string, string | undefined> = {
    ...context.env,
    STS_TOKEN_FILE: context.file,
    STS_AUDIENCE: context.audience,
    STS_SCOPE: context.scope ?? '',
    STS_TOKEN_EXPIRES_AT: context.expiresAt.toISOString(),
  }
  return new Promise((resolve) => {
    // No shell: the argv is run as written. A shell is there only when the command names one.
    let child: ChildProcess
    try {
      child = spawn(program, args, { env, shell: false, stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (error) {
      resolve({ ok: false, problem: `${program} could not be started: ${(error as Error).message}` })
      return
    }
    running.add(child)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-500)
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve({ ok: false, problem: `${program} could not be started: ${error.message}` })
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ ok: true })
      else if (timedOut) resolve({ ok: false, problem: `${program} did not finish within ${timeoutMs / 1000} s and was killed` })
      else if (code === null && signal === null)
        return // 'error' has answered
      else {
        const ended = code !== null ? `exited with status ${code}` : `was ended by ${signal}`
        const said = context.redact(stderr.trim())
        resolve({ ok: false, problem: `${program} ${ended}${said === '' ? '' : `: ${said}`}` })
      }
    })
  })
}

async function sendSignal(pidFile: string, signal: string): Promise<HookOutcome> {
  let text: string
  try {
    text = await readFile(pidFile, 'utf8')
  } catch (error) {
    return { ok: false, problem: `cannot read the pid file ${pidFile}: ${(error as Error).message}` }
  }
  const pid = /^\s*(\d+)\s*$/.exec(text)?.[1]
  // 0 and negative numbers would signal process groups: only one process is ever meant.
  if (pid === undefined || Number(pid) < 1) return { ok: false, problem: `the pid file ${pidFile} does not hold a process id` }
  try {
    process.kill(Number(pid), signal)
    return { ok: true }
  } catch (error) {
    return {
      ok: false,
      problem: `cannot send ${signal} to process ${pid} (from ${pidFile}): ${(error as NodeJS.ErrnoException).code ?? ''}`,
    }
  }
}
