import { compileGlob, tokenize, type CompiledGlob } from '@seed-sts/client/glob'
import { LruCache } from './lru-cache.js'

/**
 * Globs over identities and claim values. The matcher itself (syntax, semantics, and why it never
 * backtracks) is the client package's (packages/client/src/glob/glob.ts), so resource servers running
 * the verifier decide exactly as the service does; this module adds what only the service needs: a
 * cache of compiled globs shared by their holders, and the glob's form for Postgres.
 */
export { CompiledGlob, compileGlob, isGlob } from '@seed-sts/client/glob'

/** The most recently used globs, compiled: one automaton for every user of the same text. */
const compiled = new LruCache<string, CompiledGlob>(10_000)

/**
 * The glob compiled, the same object for the same text while it is in use: the holders of one glob
 * (grants with the same subject) share one automaton, which stays in the CPU's caches.
 */
export function sharedGlob(glob: string): CompiledGlob {
  return compiled.obtain(glob, compileGlob)
}

/** For globs matched by their text (configuration, revocations), from the cache of the most recently used. */
export function globMatches(glob: string, value: string): boolean {
  return sharedGlob(glob).matches(value)
}

/**
 * The same glob as a POSIX regular expression, for Postgres (`subject ~ $1`), whose regex engine
 * compiles to an automaton rather than backtracking. Never used to match in this process.
 */
export function globToSqlPattern(glob: string): string {
  let source = '^'
  for (const token of tokenize(glob)) {
    if (token.kind === 'star') source += token.crossesSlash ? '.*' : '[^/]*'
    else if (token.kind === 'one') source += '[^/]'
    else source += String.fromCharCode(token.code).replace(/[\\^$.|+*?()[\]{}]/g, '\\$&')
  }
  return `${source}$`
}
