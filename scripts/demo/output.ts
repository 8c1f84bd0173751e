/**
 * How the demo talks to the newcomer: numbered steps, short explanations, JSON and curl commands.
 * Every line goes through `print`, which refuses to write a registered secret: the demo shows what
 * tokens look like, never a whole token or the admin token.
 */

const secrets = new Set<string>()

/** Marks a value as secret: from now on, printing it in full stops the demo. */
export function registerSecret(value: string): string {
  secrets.add(value)
  return value
}

/** The first 12 characters and an ellipsis: enough to recognise a value, not enough to use it. */
export function abbreviate(secret: string): string {
  return `${secret.slice(0, 12)}…`
}

/** `value` with every registered secret in its strings abbreviated. */
export function redacted<T>(value: T): T {
  if (typeof value === 'string') {
    let text: string = value
    for (const secret of secrets) text = text.split(secret).join(abbreviate(secret))
    return text as T
  }
  if (Array.isArray(value)) return value.map((item: unknown) => redacted(item)) as T
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redacted(item)])) as T
  }
  return value
}

export function print(text = ''): void {
  for (const secret of secrets) {
    if (text.includes(secret)) throw new Error('the demo was about to print a secret in full; refusing')
  }
  process.stdout.write(`${text}\n`)
}

/** A numbered step: its title, then what it shows and why it matters. */
export function step(number: number, title: string, ...explanation: string[]): void {
  print()
  print(`━━ ${number}. ${title} `.padEnd(100, '━'))
  for (const line of explanation) say(line)
}

export function say(text: string): void {
  print(`   ${text}`)
}

/** Indented, pretty JSON, secrets abbreviated. */
export function show(value: unknown, label?: string): void {
  if (label) say(label)
  for (const line of JSON.stringify(redacted(value), null, 2).split('\n')) print(`     ${line}`)
}

/** Indented literal text (a command, a YAML snippet). */
export function block(text: string, label?: string): void {
  if (label) say(label)
  for (const line of text.replace(/\n$/, '').split('\n')) print(`     ${line}`)
}

export interface CurlRequest {
  method: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  /** Sent as JSON (`-d '…'`). */
  json?: unknown
  /** Sent form-encoded, one `--data-urlencode` per field. */
  form?: Record<string, string>
}

/** The curl command that makes the same request, secrets abbreviated. */
export function curlFor(request: CurlRequest): string {
  const shown = redacted(request)
  const parts = [`curl -sS -X ${shown.method} ${quote(shown.url)}`]
  for (const [name, value] of Object.entries(shown.headers ?? {})) parts.push(`-H ${quote(`${name}: ${value}`)}`)
  if (shown.json !== undefined) parts.push(`-H 'content-type: application/json'`, `-d ${quote(JSON.stringify(shown.json))}`)
  for (const [name, value] of Object.entries(shown.form ?? {})) parts.push(`--data-urlencode ${quote(`${name}=${value}`)}`)
  return parts.join(' \\\n  ')
}

/** POSIX shell single quoting. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}
