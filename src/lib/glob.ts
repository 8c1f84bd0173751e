/**
 * Globs over identities and claim values.
 *
 * `*` matches any run of characters except `/`, `**` matches any run including `/`, `?` matches one
 * character except `/`. Everything else is literal, and the whole value must match: a glob is never a
 * prefix or suffix match, so `repo:acme/*` cannot match `repo:acme/app/../../other`.
 */
const compiled = new Map<string, RegExp>()
const MAX_CACHED = 10_000

export function globToRegExp(glob: string): RegExp {
  let cached = compiled.get(glob)
  if (cached) return cached
  let source = '^'
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        source += '.*'
        i++
      } else {
        source += '[^/]*'
      }
    } else if (ch === '?') {
      source += '[^/]'
    } else {
      source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
    }
  }
  cached = new RegExp(source + '$', 's')
  if (compiled.size >= MAX_CACHED) compiled.clear()
  compiled.set(glob, cached)
  return cached
}

export function globMatches(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value)
}

export function isGlob(value: string): boolean {
  return value.includes('*') || value.includes('?')
}
