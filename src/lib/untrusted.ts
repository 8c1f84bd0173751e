/**
 * Renders attacker-controlled input for an error description: quoted, escaped, and never long enough
 * to flood a log line or reflect a payload back to the caller.
 */
export function quoteUntrusted(value: unknown, max = 64): string {
  if (typeof value !== 'string') return `(${describeType(value)})`
  const quoted = JSON.stringify(value.length > max ? value.slice(0, max) : value)
  if (value.length <= max && quoted.length <= max + 2) return quoted
  // Escapes can lengthen the text again: cut the quoted form, then say that it was cut.
  return `${quoted.slice(0, max + 1)}…" (${value.length} characters)`
}

function describeType(value: unknown): string {
  if (value === undefined) return 'none'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
