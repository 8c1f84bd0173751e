import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './errors.js'

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>
type Value = string | boolean | (string | boolean)[] | undefined

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs

/**
 * A command's parsed command line. The accessors never throw: each records what is wrong in
 * `problems` and returns a placeholder, so a run reports every problem at once.
 */
export class ParsedArgs {
  readonly problems: string[] = []

  constructor(
    private readonly values: Record<string, Value>,
    readonly positionals: readonly string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name]
    return typeof value === 'string' ? value : undefined
  }

  required(name: string, placeholder: string): string {
    const value = this.string(name)
    if (value === undefined || value.trim() === '') {
      this.problems.push(`--${name} ${placeholder} is required`)
      return ''
    }
    return value
  }

  list(name: string): string[] {
    const value = this.values[name]
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  }

  flag(name: string): boolean {
    return this.values[name] === true
  }

  /** A whole number of at least `min`; the upper bound is the service's to enforce. */
  integer(name: string, min: number): number | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
      this.problems.push(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(value)}`)
      return undefined
    }
    return Number(value)
  }

  /** An RFC 3339 timestamp; a bare date (2026-11-23) means its midnight UTC. Sent as given otherwise. */
  timestamp(name: string): string | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    const stamp = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value
    const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/
    if (!rfc3339.test(stamp) || Number.isNaN(Date.parse(stamp))) {
      this.problems.push(`--${name} must be an RFC 3339 time such as 2026-11-23T12:00:00Z (or a date), not ${JSON.stringify(value)}`)
      return undefined
    }
    return stamp
  }

  /** One of `choices`. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    if (!(choices as readonly string[]).includes(value)) {
      this.problems.push(`--${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`)
      return undefined
    }
    return value as T
  }
}

/**
 * Parses a command's arguments strictly (unknown options are errors), with the global options.
 * Throws UsageError with messages shorter than node's own.
 */
export function parseCommandLine(args: readonly string[], options: OptionSpecs): ParsedArgs {
  const all: OptionSpecs = { ...GLOBAL_OPTIONS, ...options }
  // A key id (an RFC 7638 thumbprint: 43 base64url characters) starts with "-" one time in 64; parseArgs
  // would take it for options. It stands in as a placeholder while parsing and is put back after.
  const standIns = new Map<string, string>()
  const standIn = (arg: string) => {
    if (!KEY_ID_WITH_DASH.test(arg)) return arg
    const placeholder = `\u0000${standIns.size}`
    standIns.set(placeholder, arg)
    return placeholder
  }
  const restore = (value: string) => standIns.get(value) ?? value
  let parsed
  try {
    parsed = parseArgs({ args: args.map(standIn), options: all, strict: true, allowPositionals: true, tokens: true })
  } catch (error) {
    throw new UsageError([describeParseError(error)])
  }
  const problems: string[] = []
  const seen = new Set<string>()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue
    // parseArgs keeps the last of a repeated single-valued option; a second --owner is a mistake, not an override.
    if (seen.has(token.name) && !all[token.name]?.multiple && all[token.name]?.type === 'string') {
      problems.push(`--${token.name} may be given once`)
    }
    seen.add(token.name)
  }
  if (problems.length > 0) throw new UsageError(problems)
  const values: typeof parsed.values = {}
  for (const [name, value] of Object.entries(parsed.values)) {
    values[name] =
      typeof value === 'string' ? restore(value) : Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? restore(v) : v)) : value
  }
  return new ParsedArgs(values, parsed.positionals.map(restore))
}

const KEY_ID_WITH_DASH = /^-[A-Za-z0-9_-]{42}$/

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: string }).code
  const option = /'(-[^' ]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(message)) return `${option} needs a value`
    if (/ambiguous/.test(message)) return `${option} needs a value (one starting with "-" is written ${option}=-value)`
    if (/does not take an argument/.test(message)) return `${option} takes no value`
  }
  return message
}
