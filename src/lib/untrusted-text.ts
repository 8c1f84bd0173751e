/**
 * Values from outside (an attestation, a request) as error descriptions and log lines may show them:
 * never long enough to flood a log line or reflect a payload back to the caller. The one place that
 * bounds untrusted text in messages.
 */

/** Quoted and escaped, for values of any type or content: what attestors say about what they were sent. */
export function quoteUntrusted(value: unknown, max = 64): string {
  if (typeof value !== 'string') return `(${describeType(value)})`
  const quoted = JSON.stringify(value.length > max ? value.slice(0, max) : value)
  if (value.length <= max && quoted.length <= max + 2) return quoted
  // Escapes can lengthen the text again: cut the quoted form, then say that it was cut.
  return `${quoted.slice(0, max + 1)}…" (${value.length} characters)`
}

/**
 * Cut to `max` characters, with `...` when cut; not escaped. For strings a schema has already
 * bounded in kind (a scope, an audience, an id), where quoting would change messages clients know.
 */
export function clipUntrusted(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}...` : value
}

function describeType(value: unknown): string {
  if (value === undefined) return 'none'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
