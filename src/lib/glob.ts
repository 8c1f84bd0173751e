/**
 * Globs over identities and claim values.
 *
 * `*` matches any run of characters except `/`, `**` matches any run including `/`, `?` matches one
 * character except `/`. Everything else is literal, and the whole value must match: a glob is never a
 * prefix or suffix match, so `repo:acme/*` cannot match `repo:acme/app/../../other`.
 *
 * Matching never backtracks. Globs come from admins and values from workloads (a claim the workload
 * controls can be kilobytes long), and a backtracking regular expression made one exchange take
 * minutes on a glob of a dozen `**`. The glob is compiled to the states of a nondeterministic
 * automaton, and the value is read once, tracking every live state at the same time as bits (the
 * shift-and method): the cost is |value| x ceil(|glob| / 32) word operations whatever the input.
 */

/** One position of the automaton: what the next character must be, or a star that may repeat. */
type Token = { kind: 'char'; code: number } | { kind: 'one' } | { kind: 'star'; crossesSlash: boolean }

const SLASH = 0x2f

interface CompiledGlob {
  /** The glob has no wildcard: equality decides. */
  literal?: string
  /** Cheap necessary conditions, tested before the automaton runs. */
  prefix: string
  suffix: string
  minLength: number
  words: number
  /** Bits of the states whose token accepts a given character code. */
  byChar: Map<number, Uint32Array>
  /** Bits of `?` states (any character but `/`). */
  one: Uint32Array
  /** Bits of `*` states (stay on any character but `/`) and of `**` states (stay on any character). */
  star: Uint32Array
  globstar: Uint32Array
  /** Characters below 128 for globs of one word: an array lookup instead of a map. */
  ascii?: Int32Array
  /** The automaton starts after the literal prefix and must reach the state before the literal suffix. */
  startState: number
  acceptState: number
}

const compiled = new Map<string, CompiledGlob>()
const MAX_CACHED = 10_000

export function globMatches(glob: string, value: string): boolean {
  const automaton = compile(glob)
  if (automaton.literal !== undefined) return automaton.literal === value
  if (value.length < automaton.minLength || !value.startsWith(automaton.prefix) || !value.endsWith(automaton.suffix)) return false
  return run(automaton, value)
}

export function isGlob(value: string): boolean {
  return value.includes('*') || value.includes('?')
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

/** Adjacent stars are one star (crossing `/` if any of them does), so a star never follows a star. */
function tokenize(glob: string): Token[] {
  const tokens: Token[] = []
  for (let i = 0; i < glob.length; i++) {
    const code = glob.charCodeAt(i)
    if (code === 0x2a /* * */) {
      const crossesSlash = glob.charCodeAt(i + 1) === 0x2a
      if (crossesSlash) i++
      const last = tokens[tokens.length - 1]
      if (last?.kind === 'star') last.crossesSlash ||= crossesSlash
      else tokens.push({ kind: 'star', crossesSlash })
    } else if (code === 0x3f /* ? */) {
      tokens.push({ kind: 'one' })
    } else {
      tokens.push({ kind: 'char', code })
    }
  }
  return tokens
}

function compile(glob: string): CompiledGlob {
  const cached = compiled.get(glob)
  if (cached) return cached
  const automaton = build(glob)
  if (compiled.size >= MAX_CACHED) compiled.clear()
  compiled.set(glob, automaton)
  return automaton
}

function build(glob: string): CompiledGlob {
  const tokens = tokenize(glob)
  const states = tokens.length + 1
  const words = Math.ceil(states / 32)
  const mask = () => new Uint32Array(words)
  const set = (bits: Uint32Array, state: number) => {
    bits[state >>> 5] |= 1 << (state & 31)
  }
  const automaton: CompiledGlob = {
    prefix: literalRun(tokens, 0, 1),
    suffix: literalRun(tokens, tokens.length - 1, -1),
    minLength: tokens.filter((token) => token.kind !== 'star').length,
    words,
    byChar: new Map(),
    one: mask(),
    star: mask(),
    globstar: mask(),
    startState: 0,
    acceptState: 0,
  }
  if (!isGlob(glob)) automaton.literal = glob
  tokens.forEach((token, state) => {
    if (token.kind === 'one') set(automaton.one, state)
    else if (token.kind === 'star') set(token.crossesSlash ? automaton.globstar : automaton.star, state)
    else {
      let bits = automaton.byChar.get(token.code)
      if (!bits) automaton.byChar.set(token.code, (bits = mask()))
      set(bits, state)
    }
  })
  // Only a glob without wildcards has ends that meet, and equality decides that one.
  if (automaton.prefix.length + automaton.suffix.length > automaton.minLength) automaton.suffix = ''
  automaton.startState = automaton.prefix.length
  automaton.acceptState = tokens.length - automaton.suffix.length
  if (words === 1) {
    automaton.ascii = new Int32Array(128)
    for (const [code, bits] of automaton.byChar) if (code < 128) automaton.ascii[code] = bits[0]!
  }
  return automaton
}

/** The literal characters at one end of the glob, up to its first wildcard. */
function literalRun(tokens: Token[], from: number, step: 1 | -1): string {
  const codes: number[] = []
  for (let i = from; i >= 0 && i < tokens.length; i += step) {
    const token = tokens[i]
    if (token.kind !== 'char') break
    codes.push(token.code)
  }
  if (step === -1) codes.reverse()
  return String.fromCharCode(...codes)
}

/** The value between the literal prefix and suffix, which the caller has already checked. */
function run(automaton: CompiledGlob, value: string): boolean {
  const from = automaton.prefix.length
  const to = value.length - automaton.suffix.length
  return automaton.ascii ? runOneWord(automaton, automaton.ascii, value, from, to) : runWords(automaton, value, from, to)
}

/** Globs of up to 31 tokens (nearly all): the live states are the bits of one number. */
function runOneWord(automaton: CompiledGlob, ascii: Int32Array, value: string, from: number, to: number): boolean {
  const one = automaton.one[0]
  const star = automaton.star[0]
  const globstar = automaton.globstar[0]
  const stars = star | globstar
  let live = 1 << automaton.startState
  live |= (live & stars) << 1
  for (let i = from; i < to; i++) {
    const code = value.charCodeAt(i)
    const literal = code < 128 ? ascii[code] : (automaton.byChar.get(code)?.[0] ?? 0)
    const slash = code === SLASH
    // States that consume the character move one token on; stars consume it and stay.
    const advancing = live & (literal | (slash ? 0 : one))
    live = (advancing << 1) | (live & (slash ? globstar : stars))
    if (live === 0) return false
    live |= (live & stars) << 1
  }
  return (live & (1 << automaton.acceptState)) !== 0
}

function runWords(automaton: CompiledGlob, value: string, from: number, to: number): boolean {
  const { words } = automaton
  let active = new Uint32Array(words)
  let next = new Uint32Array(words)
  active[automaton.startState >>> 5] = 1 << (automaton.startState & 31)
  closeOverStars(automaton, active)
  for (let i = from; i < to; i++) {
    const code = value.charCodeAt(i)
    const literal = automaton.byChar.get(code)
    const slash = code === SLASH
    let carry = 0
    let any = 0
    for (let w = 0; w < words; w++) {
      const live = active[w]
      const advancing = live & ((literal ? literal[w] : 0) | (slash ? 0 : automaton.one[w]))
      const staying = live & (automaton.globstar[w] | (slash ? 0 : automaton.star[w]))
      const moved = ((advancing << 1) | carry) >>> 0
      carry = advancing >>> 31
      next[w] = (moved | staying) >>> 0
      any |= next[w]
    }
    if (any === 0) return false
    closeOverStars(automaton, next)
    ;[active, next] = [next, active]
  }
  return (active[automaton.acceptState >>> 5] & (1 << (automaton.acceptState & 31))) !== 0
}

/** A star may match nothing: a live star state also makes the state after it live. */
function closeOverStars(automaton: CompiledGlob, bits: Uint32Array): void {
  let carry = 0
  for (let w = 0; w < automaton.words; w++) {
    const stars = bits[w] & (automaton.star[w] | automaton.globstar[w])
    const skipped = ((stars << 1) | carry) >>> 0
    carry = stars >>> 31
    bits[w] = (bits[w] | skipped) >>> 0
  }
}
