/**
 * Globs over identities and claim values: the one implementation, used by the service (src/lib/glob.ts
 * adds its cache and its SQL form) and by the verifier, so a subject revocation refuses in a resource
 * server exactly the tokens it refuses in the service.
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
 *
 * The literal characters before the first wildcard and after the last are compared directly, and the
 * automaton covers only what lies between (for `spiffe://example.org/ns/payments/sa/*`, the one `*`):
 * nearly every glob's automaton then fits one 32-bit word and a few bytes, so a holder of many
 * compiled globs can keep each.
 */

/** One position of the automaton: what the next character must be, or a star that may repeat. */
export type GlobToken = { kind: 'char'; code: number } | { kind: 'one' } | { kind: 'star'; crossesSlash: boolean }

const SLASH = 0x2f

/** A glob compiled once, to be matched against many values. */
export class CompiledGlob {
  /**
   * `literal` when the glob has no wildcard (equality decides); else the literal ends, the least
   * length a value must have, and the automaton for what lies between the ends.
   */
  private constructor(
    private readonly literal: string | undefined,
    private readonly prefix: string,
    private readonly suffix: string,
    private readonly minLength: number,
    private readonly middle: Automaton | undefined,
  ) {}

  static of(glob: string): CompiledGlob {
    if (!isGlob(glob)) return new CompiledGlob(glob, '', '', 0, undefined)
    const tokens = tokenize(glob)
    const prefix = literalRun(tokens, 0, 1)
    const suffix = literalRun(tokens, tokens.length - 1, -1)
    const minLength = tokens.filter((token) => token.kind !== 'star').length
    // With a wildcard between them, the two literal ends never overlap.
    const middle = tokens.slice(prefix.length, tokens.length - suffix.length)
    return new CompiledGlob(undefined, prefix, suffix, minLength, automatonFor(middle))
  }

  matches(value: string): boolean {
    if (this.literal !== undefined) return this.literal === value
    // lastIndexOf at 0 is startsWith, at a third of its cost on Node 20 for a prefix as long as a SPIFFE ID's.
    if (value.length < this.minLength || value.lastIndexOf(this.prefix, 0) !== 0 || !value.endsWith(this.suffix)) return false
    return this.middle!.accepts(value, this.prefix.length, value.length - this.suffix.length)
  }
}

export function compileGlob(glob: string): CompiledGlob {
  return CompiledGlob.of(glob)
}

export function isGlob(value: string): boolean {
  return value.includes('*') || value.includes('?')
}

/** Adjacent stars are one star (crossing `/` if any of them does), so a star never follows a star. */
export function tokenize(glob: string): GlobToken[] {
  const tokens: GlobToken[] = []
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

/** The literal characters at one end of the glob, up to its first wildcard. */
function literalRun(tokens: GlobToken[], from: number, step: 1 | -1): string {
  const codes: number[] = []
  for (let i = from; i >= 0 && i < tokens.length; i += step) {
    const token = tokens[i]
    if (token.kind !== 'char') break
    codes.push(token.code)
  }
  if (step === -1) codes.reverse()
  return String.fromCharCode(...codes)
}

/** Reads `value` from `from` to `to` from state 0; true if it ends in the accepting state (after the last token). */
interface Automaton {
  accepts(value: string, from: number, to: number): boolean
}

function automatonFor(tokens: readonly GlobToken[]): Automaton {
  const only = tokens.length === 1 ? tokens[0] : undefined
  // The commonest globs by far: a literal part and one star (`.../sa/*`, `api-*`, `.../ns/payments/**`).
  if (only?.kind === 'star') return only.crossesSlash ? ANY_RUN : ONE_SEGMENT
  return tokens.length < 32 ? new OneWord(tokens) : new Words(tokens)
}

/** `**` alone: any run of characters. */
const ANY_RUN: Automaton = { accepts: () => true }

/** `*` alone: any run of characters without a `/`. */
const ONE_SEGMENT: Automaton = {
  accepts(value, from, to) {
    const slash = value.indexOf('/', from)
    return slash === -1 || slash >= to
  },
}

/** Shared by every one-word automaton whose tokens hold no character below 128 (`*`, `**`, `?` alone). */
const NO_ASCII = new Int32Array(128)

/** Up to 31 tokens (nearly all): the live states are the bits of one number. */
class OneWord implements Automaton {
  private readonly one: number
  private readonly star: number
  private readonly globstar: number
  /** Bits of the states whose token is a given character: an array for codes below 128, a map above. */
  private readonly ascii: Int32Array
  private readonly wide: Map<number, number> | undefined
  private readonly accept: number

  constructor(tokens: readonly GlobToken[]) {
    let one = 0
    let star = 0
    let globstar = 0
    let ascii = NO_ASCII
    let wide: Map<number, number> | undefined
    tokens.forEach((token, state) => {
      const bit = 1 << state
      if (token.kind === 'one') one |= bit
      else if (token.kind === 'star') {
        if (token.crossesSlash) globstar |= bit
        else star |= bit
      } else if (token.code < 128) {
        if (ascii === NO_ASCII) ascii = new Int32Array(128)
        ascii[token.code] |= bit
      } else {
        wide ??= new Map()
        wide.set(token.code, (wide.get(token.code) ?? 0) | bit)
      }
    })
    this.one = one
    this.star = star
    this.globstar = globstar
    this.ascii = ascii
    this.wide = wide
    this.accept = 1 << tokens.length
  }

  accepts(value: string, from: number, to: number): boolean {
    const { one, globstar, ascii, wide } = this
    const stars = this.star | globstar
    let live = 1
    live |= (live & stars) << 1
    for (let i = from; i < to; i++) {
      const code = value.charCodeAt(i)
      const literal = code < 128 ? ascii[code] : (wide?.get(code) ?? 0)
      const slash = code === SLASH
      // States that consume the character move one token on; stars consume it and stay.
      const advancing = live & (literal | (slash ? 0 : one))
      live = (advancing << 1) | (live & (slash ? globstar : stars))
      if (live === 0) return false
      live |= (live & stars) << 1
    }
    return (live & this.accept) !== 0
  }
}

/** 32 tokens or more between the literal ends: the live states span several words. */
class Words implements Automaton {
  private readonly words: number
  /** Bits of the states whose token accepts a given character code. */
  private readonly byChar = new Map<number, Uint32Array>()
  /** Bits of `?` states (any character but `/`). */
  private readonly one: Uint32Array
  /** Bits of `*` states (stay on any character but `/`) and of `**` states (stay on any character). */
  private readonly star: Uint32Array
  private readonly globstar: Uint32Array
  private readonly acceptState: number

  constructor(tokens: readonly GlobToken[]) {
    this.words = Math.ceil((tokens.length + 1) / 32)
    this.one = new Uint32Array(this.words)
    this.star = new Uint32Array(this.words)
    this.globstar = new Uint32Array(this.words)
    tokens.forEach((token, state) => {
      if (token.kind === 'one') setBit(this.one, state)
      else if (token.kind === 'star') setBit(token.crossesSlash ? this.globstar : this.star, state)
      else {
        let bits = this.byChar.get(token.code)
        if (!bits) this.byChar.set(token.code, (bits = new Uint32Array(this.words)))
        setBit(bits, state)
      }
    })
    this.acceptState = tokens.length
  }

  accepts(value: string, from: number, to: number): boolean {
    const { words } = this
    let active = new Uint32Array(words)
    let next = new Uint32Array(words)
    active[0] = 1
    this.closeOverStars(active)
    for (let i = from; i < to; i++) {
      const code = value.charCodeAt(i)
      const literal = this.byChar.get(code)
      const slash = code === SLASH
      let carry = 0
      let any = 0
      for (let w = 0; w < words; w++) {
        const live = active[w]
        const advancing = live & ((literal ? literal[w] : 0) | (slash ? 0 : this.one[w]))
        const staying = live & (this.globstar[w] | (slash ? 0 : this.star[w]))
        const moved = ((advancing << 1) | carry) >>> 0
        carry = advancing >>> 31
        next[w] = (moved | staying) >>> 0
        any |= next[w]
      }
      if (any === 0) return false
      this.closeOverStars(next)
      ;[active, next] = [next, active]
    }
    return (active[this.acceptState >>> 5] & (1 << (this.acceptState & 31))) !== 0
  }

  /** A star may match nothing: a live star state also makes the state after it live. */
  private closeOverStars(bits: Uint32Array): void {
    let carry = 0
    for (let w = 0; w < this.words; w++) {
      const stars = bits[w] & (this.star[w] | this.globstar[w])
      const skipped = ((stars << 1) | carry) >>> 0
      carry = stars >>> 31
      bits[w] = (bits[w] | skipped) >>> 0
    }
  }
}

function setBit(bits: Uint32Array, state: number): void {
  bits[state >>> 5] |= 1 << (state & 31)
}
