import type { LedgerEntry } from '../ledger/ledger-store.js'
import {
  AUDIENCE_ROW,
  MAX_IDENTITY_SOURCES,
  type AccessRollupRow,
  type DailyRollupRow,
  type DelegationRollupRow,
  type IdentityRollup,
  type IdentityRollupRow,
} from './identity-rollup.js'

/**
 * The roll-ups of many ledger batches, coalesced in memory until they are written: one row per key
 * (one per identity, per identity × grant × audience × scope, per identity × actor, per identity × day; an upsert statement
 * may not touch the same row twice) however many batches touched it (first and last times widened, daily counts added up), so a busy
 * identity costs one row update per write rather than one per batch. Kept per identity, so that what
 * is dropped under pressure goes with all of that identity's rows (an access or daily row is written
 * by joining its identity's row). Pure: the recorder (src/inventory/inventory-recorder.ts) decides
 * when to write and what to drop.
 */

interface IdentityDeltas {
  identity: IdentityRollupRow
  access: Map<string, AccessRollupRow>
  /** By actor: delegated tokens only, so most identities hold none. */
  delegations: Map<string, DelegationRollupRow>
  /** By UTC day, in days since the epoch. */
  daily: Map<number, DailyRollupRow>
}

const DAY_MS = 86_400_000

export class RollupAccumulator {
  /** By subject, least recently touched first: what `dropOldest` drops first. */
  private identities = new Map<string, IdentityDeltas>()
  private rows = 0

  /** Roll-up rows held (identities, access, delegation and daily rows): what the cap on memory counts. */
  get size(): number {
    return this.rows
  }

  /**
   * Folds in a committed batch, entry by entry, into the rows held: no intermediate roll-up and no
   * copies, since this runs for every batch the ledger commits. Batches come in about the order of
   * issue (several commit at once), so each entry's time, not its place, decides what is newest.
   */
  fold(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) this.foldEntry(entry)
  }

  /** Hands over everything held, as an accumulator of its own, and starts again empty. */
  take(): RollupAccumulator {
    const taken = new RollupAccumulator()
    taken.identities = this.identities
    taken.rows = this.rows
    this.identities = new Map()
    this.rows = 0
    return taken
  }

  /**
   * Folds back what was taken and could not be written: older than everything held since, so it
   * goes before it in age, and where both hold a key, the newer one's attestor and sources lead.
   */
  restoreOlder(older: RollupAccumulator): void {
    const newer = this.identities
    this.identities = new Map()
    this.rows = 0
    for (const [subject, deltas] of older.identities) if (!newer.has(subject)) this.set(subject, deltas, undefined)
    for (const [subject, deltas] of newer) {
      const before = older.identities.get(subject)
      this.set(subject, before === undefined ? deltas : combine(before, deltas), undefined)
    }
  }

  /**
   * Drops the identities touched longest ago, each with all its rows, until at most `maxRows` are
   * held; answers how many rows were dropped.
   */
  dropOldest(maxRows: number): number {
    let dropped = 0
    for (const [subject, deltas] of this.identities) {
      if (this.rows <= maxRows) break
      this.identities.delete(subject)
      const rows = rowsOf(deltas)
      this.rows -= rows
      dropped += rows
    }
    return dropped
  }

  /** What is held, as the SQL writer takes it (each of its statements puts the rows in key order itself). */
  rollup(): IdentityRollup {
    const all = [...this.identities.values()]
    return {
      identities: all.map((deltas) => deltas.identity),
      access: all.flatMap((deltas) => [...deltas.access.values()]),
      delegations: all.flatMap((deltas) => [...deltas.delegations.values()]),
      daily: all.flatMap((deltas) => [...deltas.daily.values()]),
    }
  }

  private foldEntry(entry: LedgerEntry): void {
    const at = entry.issuedAt
    let deltas = this.identities.get(entry.subject)
    if (deltas === undefined) {
      deltas = {
        identity: {
          subject: entry.subject,
          attestor: entry.attestor,
          attestorKind: entry.attestorKind,
          sources: [...new Set(entry.sources)].slice(0, MAX_IDENTITY_SOURCES),
          firstSeen: at,
          lastSeen: at,
        },
        access: new Map(),
        delegations: new Map(),
        daily: new Map(),
      }
      this.rows += 1
    } else {
      foldIdentity(deltas.identity, entry)
      // Deleted and set again: the Map's order is the order of the last touch.
      this.identities.delete(entry.subject)
    }
    this.identities.set(entry.subject, deltas)
    for (const grantId of entry.grantIds) {
      this.touchAccess(deltas, entry.subject, grantId, entry.audience, AUDIENCE_ROW, at)
      for (const scope of entry.scopes) this.touchAccess(deltas, entry.subject, grantId, entry.audience, scope, at)
    }
    // The current actor only (the outermost `act`): who held the token, for whom.
    const actor = entry.actors?.[0]
    if (actor !== undefined) this.touchDelegation(deltas, entry.subject, actor, at)
    const day = Math.floor(at.getTime() / DAY_MS)
    const daily = deltas.daily.get(day)
    if (daily !== undefined) daily.tokens += 1
    else {
      deltas.daily.set(day, { subject: entry.subject, day: new Date(day * DAY_MS).toISOString().slice(0, 10), tokens: 1 })
      this.rows += 1
    }
  }

  private touchAccess(deltas: IdentityDeltas, subject: string, grantId: string, audience: string, scope: string, at: Date): void {
    const key = accessKey(grantId, audience, scope)
    const row = deltas.access.get(key)
    if (row === undefined) {
      deltas.access.set(key, { subject, grantId, audience, scope, firstUsed: at, lastUsed: at })
      this.rows += 1
    } else if (at.getTime() < row.firstUsed.getTime()) row.firstUsed = at
    else if (at.getTime() > row.lastUsed.getTime()) row.lastUsed = at
  }

  private touchDelegation(deltas: IdentityDeltas, subject: string, actor: string, at: Date): void {
    const row = deltas.delegations.get(actor)
    if (row === undefined) {
      deltas.delegations.set(actor, { subject, actor, tokens: 1, firstSeen: at, lastSeen: at })
      this.rows += 1
      return
    }
    row.tokens += 1
    if (at.getTime() < row.firstSeen.getTime()) row.firstSeen = at
    else if (at.getTime() > row.lastSeen.getTime()) row.lastSeen = at
  }

  private set(subject: string, deltas: IdentityDeltas, replaced: IdentityDeltas | undefined): void {
    this.identities.set(subject, deltas)
    this.rows += rowsOf(deltas) - (replaced === undefined ? 0 : rowsOf(replaced))
  }
}

function rowsOf(deltas: IdentityDeltas): number {
  return 1 + deltas.access.size + deltas.delegations.size + deltas.daily.size
}

/** Unambiguous whatever the strings hold: each but the last is prefixed by its length. */
function accessKey(grantId: string, audience: string, scope: string): string {
  return `${grantId.length}:${grantId}${audience.length}:${audience}${scope}`
}

/**
 * One more entry of an identity held, as the SQL upsert combines rows (combineIdentity): the newest
 * entry names the attestor, and its sources not held yet go to the front; an older one's go last.
 */
function foldIdentity(identity: IdentityRollupRow, entry: LedgerEntry): void {
  const at = entry.issuedAt.getTime()
  if (at >= identity.lastSeen.getTime()) {
    identity.lastSeen = entry.issuedAt
    identity.attestor = entry.attestor
    identity.attestorKind = entry.attestorKind
    if (!entry.sources.every((source) => identity.sources.includes(source)))
      identity.sources = [...new Set([...entry.sources, ...identity.sources])].slice(0, MAX_IDENTITY_SOURCES)
  } else {
    if (at < identity.firstSeen.getTime()) identity.firstSeen = entry.issuedAt
    for (const source of entry.sources) {
      if (identity.sources.length < MAX_IDENTITY_SOURCES && !identity.sources.includes(source)) identity.sources.push(source)
    }
  }
}

/** One identity's deltas of two spans of batches, `newer` the later one; neither is changed. */
function combine(older: IdentityDeltas, newer: IdentityDeltas): IdentityDeltas {
  const access = new Map(older.access)
  for (const [key, row] of newer.access) {
    const before = access.get(key)
    access.set(
      key,
      before === undefined
        ? row
        : { ...row, firstUsed: earlier(before.firstUsed, row.firstUsed), lastUsed: later(before.lastUsed, row.lastUsed) },
    )
  }
  const delegations = new Map(older.delegations)
  for (const [actor, row] of newer.delegations) {
    const before = delegations.get(actor)
    delegations.set(
      actor,
      before === undefined
        ? row
        : {
            ...row,
            tokens: before.tokens + row.tokens,
            firstSeen: earlier(before.firstSeen, row.firstSeen),
            lastSeen: later(before.lastSeen, row.lastSeen),
          },
    )
  }
  const daily = new Map(older.daily)
  for (const [day, row] of newer.daily) daily.set(day, { ...row, tokens: (daily.get(day)?.tokens ?? 0) + row.tokens })
  return { identity: combineIdentity(older.identity, newer.identity), access, delegations, daily }
}

/** As the SQL upsert combines a row with the one stored (src/inventory/sql-identity-rollups.ts). */
function combineIdentity(older: IdentityRollupRow, newer: IdentityRollupRow): IdentityRollupRow {
  const latest = newer.lastSeen.getTime() >= older.lastSeen.getTime() ? newer : older
  // An unchanged set keeps its order; a new source brings the newer ones to the front.
  const sources = newer.sources.every((source) => older.sources.includes(source))
    ? older.sources
    : [...new Set([...newer.sources, ...older.sources])].slice(0, MAX_IDENTITY_SOURCES)
  return {
    subject: newer.subject,
    attestor: latest.attestor,
    attestorKind: latest.attestorKind,
    sources,
    firstSeen: earlier(older.firstSeen, newer.firstSeen),
    lastSeen: later(older.lastSeen, newer.lastSeen),
  }
}

function earlier(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b
}

function later(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b
}
