/** Random SPIFFE IDs and globs of them, for property tests that hold an index to the full scan it replaces. */

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Segments drawn from few values, so globs and identities share prefixes as real ones do. */
export function randomPath(next: () => number, wildcards: boolean): string {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!
  const segments = ['k8s', 'prod', 'dev', 'ns', 'pay', 'payments', 'sa', 'api', 'a', 'ab', '']
  const globs = ['*', '**', '?', 'pay*', '*s', 'a?', '*/sa', 'p*s']
  const parts: string[] = []
  const length = 1 + Math.floor(next() * 6)
  for (let i = 0; i < length; i++) parts.push(wildcards && next() < 0.25 ? pick(globs) : pick(segments))
  const tail = parts.join('/')
  // Some subjects start with a wildcard or hold no slash at all: they must be found too.
  if (wildcards && next() < 0.05) return pick(['*', '**', `*${tail}`, `?${tail}`])
  return `spiffe://example.org/${tail}`
}
