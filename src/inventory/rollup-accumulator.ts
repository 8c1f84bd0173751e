import {
  MAX_IDENTITY_SOURCES,
  type AccessRollupRow,
  type DailyRollupRow,
  type IdentityRollup,
  type IdentityRollupRow,
} from './identity-rollup.js'

/**
 * The roll-ups of many ledger batches, coalesced in memory until they are written: one row per key
 * however many batches touched it (first and last times widened, daily counts added up), so a busy
 * identity costs one row update per write rather than one per batch. Kept per identity, so that what
 * is dropped under pressure goes with all of that identity's rows (an access or daily row is written
 * by joining its identity's row). Pure: the recorder (src/inventory/inventory-recorder.ts) decides
 * when to write and what to drop.
 */

interface IdentityDeltas {
  identity: IdentityRollupRow
  access: Map<string, AccessRollupRow>
  daily: Map<string, DailyRollupRow>
}

export class RollupAccumulator {
  /** By subject, least recently touched first: what `dropOldest` drops first. */
  private identities = new Map<string, IdentityDeltas>()
  private rows = 0

  /** Roll-up rows held (identities, access and daily rows): what the cap on memory counts. */
  get size(): number {
    return this.rows
  }

  /** Folds in the roll-up of a batch committed after everything held. */
  add(batch: IdentityRollup): void {
    const incoming = new Map<string, IdentityDeltas>()
    for (const identity of batch.identities) incoming.set(identity.subject, { identity, access: new Map(), daily: new Map() })
    for (const row of batch.access) incoming.get(row.subject)?.access.set(accessKey(row), row)
    for (const row of batch.daily) incoming.get(row.subject)?.daily.set(row.day, row)
    for (const [subject, newer] of incoming) {
      const older = this.identities.get(subject)
      // Deleted and set again: the Map's order is the order of the last touch.
      this.identities.delete(subject)
      this.set(subject, older === undefined ? newer : combine(older, newer), older)
    }
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
      daily: all.flatMap((deltas) => [...deltas.daily.values()]),
    }
  }

  private set(subject: string, deltas: IdentityDeltas, replaced: IdentityDeltas | undefined): void {
    this.identities.set(subject, deltas)
    this.rows += rowsOf(deltas) - (replaced === undefined ? 0 : rowsOf(replaced))
  }
}

function rowsOf(deltas: IdentityDeltas): number {
  return 1 + deltas.access.size + deltas.daily.size
}

function accessKey(row: AccessRollupRow): string {
  return JSON.stringify([row.grantId, row.audience, row.scope])
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
  const daily = new Map(older.daily)
  for (const [day, row] of newer.daily) daily.set(day, { ...row, tokens: (daily.get(day)?.tokens ?? 0) + row.tokens })
  return { identity: combineIdentity(older.identity, newer.identity), access, daily }
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
