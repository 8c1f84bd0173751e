import type { RevocationKind } from './errors.js'
import { compileGlob, isGlob, type CompiledGlob } from '../glob/glob.js'
import { GlobIndex } from '../glob/glob-index.js'

/**
 * A revocation as the STS announces it: a whole one (role `revocations:read`) or a notice (role
 * `revocations:subscribe`), reduced to what deciding needs. A source is named by its keyed hash.
 */
export interface RevocationRecord {
  id: string
  kind: RevocationKind
  /** What it names: a `jti`, a subject or a glob of them, a grant id, a source hash, a `kid`. */
  target: string
  createdAt: number
  expiresAt: number | undefined
  lifted: boolean
}

const KINDS: readonly string[] = ['token', 'subject', 'grant', 'source', 'key']

/**
 * Reads a revocation of the listing or the stream (untrusted input: the STS's answer, through
 * whatever lies between). Undefined when it cannot be used, such as a source revocation without its
 * hash (an STS older than the hashes).
 */
export function revocationRecordOf(json: unknown): RevocationRecord | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const { id, kind, value, sourceHash, createdAt, expiresAt, liftedAt } = json as Record<string, unknown>
  if (typeof id !== 'string' || typeof kind !== 'string' || !KINDS.includes(kind)) return undefined
  const target = kind === 'source' ? sourceHash : value
  const created = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN
  const expires = typeof expiresAt === 'string' ? Date.parse(expiresAt) : undefined
  if (typeof target !== 'string' || Number.isNaN(created) || (expires !== undefined && Number.isNaN(expires))) return undefined
  return {
    id,
    kind: kind as RevocationKind,
    target,
    createdAt: created,
    expiresAt: expires,
    lifted: liftedAt !== null && liftedAt !== undefined,
  }
}

interface Entry {
  record: RevocationRecord
  /** When no token it could cover can still be valid: forgotten then. */
  forgetAt: number
  /** Until when it counts: its `expiresAt` and the clock tolerance tokens are accepted with past their `exp`. */
  until: number
  glob: CompiledGlob | undefined
}

/** What a token offers to be matched against: every value a revocation could name. */
export interface RevocableToken {
  tokenId: string
  keyId: string
  subject: string
  grants: readonly string[]
  sourceHashes: readonly string[]
  /** The delegation chain (`act`): each actor is matched as the subject is. */
  actors: readonly string[]
  /** `ancestor_jtis`: a token revocation of any of them covers this token too. */
  ancestorTokenIds: readonly string[]
}

/**
 * The revocations in force, held in memory and matched without a call: by `jti` (the token's and its
 * ancestors'), `kid`, subject (literal or glob, with the STS's own glob semantics; the token's subject
 * and every actor of its delegation chain), grant id and source hash.
 *
 * Nothing is kept for longer than it can matter. The STS mints no token for what a revocation in
 * force names, so a revocation made at T only covers tokens issued before T; the verifier refuses
 * tokens that live longer than `maxTokenLifetimeMs`, so past T + that lifetime (and a margin for the
 * clocks of the STS's instances) every token a revocation could cover has expired, and it is
 * forgotten, as it is at its `expiresAt`. Memory follows the revocations of the last token lifetime,
 * not everything ever revoked.
 */
export class RevocationSet {
  private readonly byId = new Map<string, Entry>()
  private readonly exact: Record<RevocationKind, Map<string, Entry[]>> = {
    token: new Map(),
    subject: new Map(),
    grant: new Map(),
    source: new Map(),
    key: new Map(),
  }
  private readonly subjectGlobs = new GlobIndex<Entry>()

  /**
   * @param keepAfterCreationMs the longest a token may live, and a margin: how long a revocation can matter.
   * @param expiryGraceMs how long past its `exp` a token is still accepted (the clock tolerance): a
   *   revocation that expires with its token counts that much longer, or the token would be accepted
   *   again in between.
   */
  constructor(
    private readonly keepAfterCreationMs: number,
    private readonly expiryGraceMs = 0,
  ) {}

  get size(): number {
    return this.byId.size
  }

  /** Takes in a change: a revocation made (kept while in force) or lifted (forgotten). */
  apply(record: RevocationRecord, nowMs: number): void {
    this.remove(record.id)
    const until = (record.expiresAt ?? Infinity) + this.expiryGraceMs
    const forgetAt = Math.min(until, record.createdAt + this.keepAfterCreationMs)
    if (record.lifted || forgetAt <= nowMs) return
    const glob = record.kind === 'subject' && isGlob(record.target) ? compileGlob(record.target) : undefined
    const entry: Entry = { record, forgetAt, until, glob }
    this.byId.set(record.id, entry)
    if (glob) this.subjectGlobs.set(record.id, record.target, entry)
    else {
      const index = this.exact[record.kind]
      const held = index.get(record.target)
      if (held) held.push(entry)
      else index.set(record.target, [entry])
    }
  }

  /** Replaces everything held with a full listing (at start, and after a gap the stream could not fill). */
  replace(records: readonly RevocationRecord[], nowMs: number): void {
    this.byId.clear()
    for (const index of Object.values(this.exact)) index.clear()
    this.subjectGlobs.clear()
    for (const record of records) this.apply(record, nowMs)
  }

  /** The kind of a revocation in force that covers the token, or undefined. */
  find(token: RevocableToken, nowMs: number): RevocationKind | undefined {
    if (this.byId.size === 0) return undefined
    // A token dies with every token it was exchanged from, and with every identity that acts through it.
    for (const tokenId of [token.tokenId, ...token.ancestorTokenIds]) if (this.inForce(this.exact.token.get(tokenId), nowMs)) return 'token'
    if (this.inForce(this.exact.key.get(token.keyId), nowMs)) return 'key'
    for (const subject of [token.subject, ...token.actors]) if (this.subjectRevoked(subject, nowMs)) return 'subject'
    for (const grant of token.grants) if (this.inForce(this.exact.grant.get(grant), nowMs)) return 'grant'
    for (const source of token.sourceHashes) if (this.inForce(this.exact.source.get(source), nowMs)) return 'source'
    return undefined
  }

  /** Forgets what can no longer matter; returns how many. */
  prune(nowMs: number): number {
    let pruned = 0
    for (const [id, entry] of this.byId) {
      if (entry.forgetAt <= nowMs) {
        this.remove(id)
        pruned++
      }
    }
    return pruned
  }

  /** Revoked by name or by a glob matching it. */
  private subjectRevoked(subject: string, nowMs: number): boolean {
    if (this.inForce(this.exact.subject.get(subject), nowMs)) return true
    if (this.subjectGlobs.size === 0) return false
    for (const entry of this.subjectGlobs.candidates(subject)) if (current(entry, nowMs) && entry.glob!.matches(subject)) return true
    return false
  }

  private inForce(entries: Entry[] | undefined, nowMs: number): boolean {
    return entries !== undefined && entries.some((entry) => current(entry, nowMs))
  }

  private remove(id: string): void {
    const entry = this.byId.get(id)
    if (!entry) return
    this.byId.delete(id)
    if (entry.glob) {
      this.subjectGlobs.delete(id)
      return
    }
    const index = this.exact[entry.record.kind]
    const held = index.get(entry.record.target)!.filter((other) => other !== entry)
    if (held.length > 0) index.set(entry.record.target, held)
    else index.delete(entry.record.target)
  }
}

/** Counts until its `expiresAt`, and the clock tolerance after (a token's revocation expires with the token). */
function current(entry: Entry, nowMs: number): boolean {
  return entry.until > nowMs
}
