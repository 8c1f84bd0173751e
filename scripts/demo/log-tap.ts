import { Writable } from 'node:stream'
import { say } from './output.js'

/**
 * Holds what the service logs (pino JSON lines) so the demo can show the lines that teach something,
 * between its own steps, instead of letting JSON scroll past.
 */
export class LogTap {
  private entries: Record<string, unknown>[] = []

  /** Give this to createLogger as its destination. */
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') this.entries.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })

  /** Prints the lines logged since the last call, leaving out Fastify's per-request lines. */
  showNew(label = 'the service logged:'): void {
    const entries = this.entries.filter((entry) => !('req' in entry) && !('res' in entry))
    this.entries = []
    if (entries.length === 0) return
    say(label)
    for (const entry of entries) say(`  ${levelName(entry.level)} ${String(entry.msg)}${fieldsOf(entry)}`)
  }
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info ', 40: 'warn ', 50: 'error', 60: 'fatal' }
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId'])

function levelName(level: unknown): string {
  return `[${LEVELS[Number(level)] ?? String(level)}]`
}

function fieldsOf(entry: Record<string, unknown>): string {
  const fields = Object.entries(entry).filter(([name]) => !NOT_SHOWN.has(name))
  return fields.length === 0 ? '' : `  ${JSON.stringify(Object.fromEntries(fields))}`
}
