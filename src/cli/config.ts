import { UsageError } from './errors.js'

/** The CLI's environment: passed in (never read from `process.env` here) so tests can give their own. */
export type CliEnvironment = Readonly<Record<string, string | undefined>>

export interface CliConfig {
  /** The service's base URL without a trailing slash; may carry a path prefix (`https://host/sts`). */
  baseUrl: string
  /** The admin bearer token. A secret: never printed, never part of an error message. */
  token: string
  timeoutMs: number
}

export const DEFAULT_URL = 'http://localhost:8080'
export const DEFAULT_TIMEOUT_SECONDS = 10

/** What the command line may override. */
export interface ConfigFlags {
  url?: string
  timeout?: string
}

/**
 * The CLI's configuration: `STS_URL` and `STS_ADMIN_TOKEN` from the environment, `--url` and
 * `--timeout` from the command line. Reports every problem at once.
 */
export function loadCliConfig(env: CliEnvironment, flags: ConfigFlags): CliConfig {
  const problems: string[] = []
  const baseUrl = parseBaseUrl(flags.url ?? env.STS_URL ?? DEFAULT_URL, flags.url !== undefined ? '--url' : 'STS_URL', problems)
  const token = env.STS_ADMIN_TOKEN ?? ''
  if (token === '') {
    problems.push('STS_ADMIN_TOKEN is not set: export the admin API token first (it is never printed)')
  } else if (!/^[\x21-\x7E]+$/.test(token)) {
    // Checked here so the token never reaches fetch's header validation, whose message would quote it.
    problems.push('STS_ADMIN_TOKEN must be printable ASCII without spaces or line breaks')
  }
  const timeoutMs = parseTimeout(flags.timeout, problems)
  if (problems.length > 0) throw new UsageError(problems)
  return { baseUrl, token, timeoutMs }
}

function parseBaseUrl(value: string, source: string, problems: string[]): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    problems.push(`${source} is not a URL: ${JSON.stringify(value)}`)
    return ''
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${source} must be an http:// or https:// URL, not ${url.protocol}`)
  } else if (url.username !== '' || url.password !== '') {
    // Not echoed: the URL holds a credential. The admin token travels in the Authorization header.
    problems.push(`${source} must not contain credentials; the admin token comes from STS_ADMIN_TOKEN`)
  } else if (url.search !== '' || url.hash !== '') {
    problems.push(`${source} must be a base URL, without ?query or #fragment`)
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

function parseTimeout(value: string | undefined, problems: string[]): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS * 1000
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN
  if (!(seconds > 0 && seconds <= 600)) {
    problems.push(`--timeout must be a number of seconds from 0 to 600, not ${JSON.stringify(value)}`)
    return 0
  }
  return Math.round(seconds * 1000)
}
