import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { stringify } from 'yaml'

/** `sts agent` as it runs in a sidecar: the compiled CLI, a YAML configuration file, signals. */
const STS = new URL('../../dist/src/cli/main.js', import.meta.url).pathname

export interface AgentProcess {
  child: ChildProcess
  /** Everything it wrote, stdout and stderr. */
  output(): string
  /** Its JSON log lines so far. */
  logs(): Record<string, unknown>[]
  exited: Promise<number | null>
}

/** A directory of its own for a test, removed at its end. */
export function scratchDirectory(t: Test, prefix = 'sts-agent-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Starts `sts agent --config <dir>/agent.yaml` with `config` written as YAML; killed at the end of the test. */
export function startAgentProcess(
  t: Test,
  dir: string,
  config: Record<string, unknown> | string,
  env: Record<string, string> = {},
): AgentProcess {
  const file = join(dir, 'agent.yaml')
  writeFileSync(file, typeof config === 'string' ? config : stringify(config))
  const child = spawn(process.execPath, [STS, 'agent', '--config', file], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const logs = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  return { child, output: () => output, logs, exited }
}

export interface ReadLoopReport {
  /** Reads that found the file. */
  reads: number
  /** Reads that found no file. */
  missing: number
  /** Reads of something other than a whole JWT (three base64url parts, JSON header and payload). */
  partial: number
  /** The distinct tokens read, by their signature, in the order first seen. */
  signatures: string[]
}

/**
 * Reads `file` in a tight loop for `durationMs`, in a process of its own (so it runs beside the agent,
 * not between its writes), checking that every read is a whole JWT.
 */
export function readInATightLoop(file: string, durationMs: number): Promise<ReadLoopReport> {
  const script = `
    const { readFileSync } = require('node:fs')
    const [file, duration] = process.argv.slice(1)
    const report = { reads: 0, missing: 0, partial: 0, signatures: [] }
    const seen = new Set()
    const whole = (text) => {
      const parts = text.split('.')
      if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return false
      try {
        JSON.parse(Buffer.from(parts[0], 'base64url').toString())
        JSON.parse(Buffer.from(parts[1], 'base64url').toString())
        return true
      } catch {
        return false
      }
    }
    const end = Date.now() + Number(duration)
    while (Date.now() < end) {
      let text
      try { text = readFileSync(file, 'utf8') } catch { report.missing++; continue }
      report.reads++
      if (!whole(text)) { report.partial++; continue }
      const signature = text.split('.')[2]
      if (!seen.has(signature)) { seen.add(signature); report.signatures.push(signature) }
    }
    process.stdout.write(JSON.stringify(report))
  `
  const child = spawn(process.execPath, ['-e', script, file, String(durationMs)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return new Promise((resolve, reject) =>
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ReadLoopReport) : reject(new Error(`the reader exited with ${code}`)),
    ),
  )
}
