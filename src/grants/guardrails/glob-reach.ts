import { compileGlob, tokenize, type GlobToken } from '@seed-sts/client/glob'

/**
 * What a subject glob can reach, for the guardrails: whether it can match any identity of a given
 * form, and whether it matches every identity of that form whatever its names. A form is a SPIFFE ID
 * with `{}` where the attestor puts a value it does not fix (a namespace, a repository), such as
 * `spiffe://example.org/k8s/prod/ns/{}/sa/{}`; a value is one path segment, never empty.
 */

const SLOT = '{}'

/**
 * Whether some identity of the form matches the glob: the two, read as automata, accept a string in
 * common. The product of their positions is walked once, so the cost is at most the product of their
 * lengths (512 characters each), never exponential.
 *
 * @example
 * canReach('spiffe://example.org/*' + '/acme/api', 'spiffe://example.org/github/{}/{}') // true
 * canReach('spiffe://example.org/k8s/**', 'spiffe://example.org/github/{}/{}') // false
 */
export function canReach(glob: string, form: string): boolean {
  return globsIntersect(tokenize(glob), tokenize(form.split(SLOT).join('?*')))
}

/**
 * Whether the glob matches every identity of the form whatever the values in its slots: it is tried
 * on the form filled with a value made of a character the glob does not contain, longer than the
 * glob, which only wildcards that take any value can match. (A glob such as `??*` takes values of two
 * characters or more: near enough to all of them to count.)
 *
 * @example
 * spans('spiffe://example.org/k8s/*' + '/ns/*' + '/sa/*', 'spiffe://example.org/k8s/{}/ns/{}/sa/{}') // true
 * spans('spiffe://example.org/k8s/prod/**', 'spiffe://example.org/k8s/{}/ns/{}/sa/{}') // false
 */
export function spans(glob: string, form: string): boolean {
  const probe = probeCharacter(glob).repeat(glob.length + 1)
  return compileGlob(glob).matches(form.split(SLOT).join(probe))
}

/** A character the glob does not contain: from the private use area, which no name uses. */
function probeCharacter(glob: string): string {
  for (let code = 0xe000; ; code++) {
    const character = String.fromCharCode(code)
    if (!glob.includes(character)) return character
  }
}

/** What one position of a glob reads: one character, any but `/`, or any at all. */
type Reads = { code: number } | 'segment' | 'any'

function readsOf(token: GlobToken): Reads {
  if (token.kind === 'char') return { code: token.code }
  if (token.kind === 'one') return 'segment'
  return token.crossesSlash ? 'any' : 'segment'
}

const SLASH = 0x2f

function readTogether(a: Reads, b: Reads): boolean {
  if (typeof a === 'object' && typeof b === 'object') return a.code === b.code
  if (typeof a === 'object') return b === 'any' || a.code !== SLASH
  if (typeof b === 'object') return a === 'any' || b.code !== SLASH
  return true
}

function globsIntersect(a: GlobToken[], b: GlobToken[]): boolean {
  const width = b.length + 1
  const seen = new Uint8Array((a.length + 1) * width)
  const pending: number[] = [0]
  seen[0] = 1
  const visit = (i: number, j: number): void => {
    const key = i * width + j
    if (seen[key] === 0) {
      seen[key] = 1
      pending.push(key)
    }
  }
  while (pending.length > 0) {
    const key = pending.pop()!
    const i = Math.floor(key / width)
    const j = key % width
    if (i === a.length && j === b.length) return true
    const ta = a[i]
    const tb = b[j]
    // A star may read nothing.
    if (ta?.kind === 'star') visit(i + 1, j)
    if (tb?.kind === 'star') visit(i, j + 1)
    // Both read one character they can agree on; a star stays where it is after reading.
    if (ta !== undefined && tb !== undefined && readTogether(readsOf(ta), readsOf(tb))) {
      visit(ta.kind === 'star' ? i : i + 1, tb.kind === 'star' ? j : j + 1)
    }
  }
  return false
}
