import type { Database } from '../db/database.js'
import { decodeCursor, encodeCursor, pageOf, SqlConditions } from '../db/sql.js'
import type { Page, PageRequest } from '../lib/page.js'
import { isGlob } from '../lib/glob.js'
import { UUID_PATTERN } from '../lib/ids.js'
import { GoneError, storeFailure } from '../errors.js'
import type { BatchLedgerStore } from './batching-ledger.js'
import { insertBatchSql } from './chain/batch-sql.js'
import type { LedgerChains, SealedBatch } from './chain/ledger-chains.js'
import { isMissingPartition, type LedgerPartitions } from './ledger-partitions.js'
import type { LedgerCommitListener } from './ledger-commit-listener.js'
import { MAX_LEDGER_PAGE, type LedgerEntry, type LedgerFilter } from './ledger-store.js'
import { COMPACT_COLUMNS, compactRowValues, toEntry, type LedgerRow } from './ledger-rows.js'
import { LedgerDictionary } from './ledger-dictionary.js'
import { readInIssueTimeWindows, type IssueTimeWindow } from './issue-time-windows.js'
import {
  addSource,
  addSubjectGlob,
  addSubjectUnder,
  ENTRY_SELECT,
  jtiLookup,
  jtiQuery,
  LEGACY_COLUMNS,
  liveIssuedSince,
  type RowForm,
} from './ledger-tables.js'

const NEWEST_FIRST = 'ORDER BY issued_at DESC, jti DESC'
/** For the statement after it in its transaction: the window reads' plan (readWindow says why). */
export const BITMAPS_ONLY = 'SET LOCAL enable_indexscan = off'

export interface SqlLedgerStoreOptions {
  /** Creates a partition on the spot for an entry none holds (the maintenance creates them ahead). */
  partitions: LedgerPartitions
  /** tokens.maxTtlSeconds: a token still live was issued less than this long ago. */
  maxTtlSeconds: number
  /** Told when an insert had to create its partition: the maintenance is behind, worth a warning. */
  onPartitionCreated?: (names: string[]) => void
  /**
   * The writer's hash chains (README, "Tamper evidence"): each batch is sealed on one and written with
   * its rows, in the same statement. Without them, batches are written unchained.
   */
  chains?: LedgerChains
  /** Told of each batch once it is committed (the inventory's roll-ups, written behind the ledger). */
  onCommitted?: LedgerCommitListener
}

/** The ledger on Postgres or PGlite: the same SQL on both. */
export class SqlLedgerStore implements BatchLedgerStore {
  private readonly dictionary: LedgerDictionary

  constructor(
    private readonly db: Database,
    private readonly options: SqlLedgerStoreOptions,
  ) {
    this.dictionary = new LedgerDictionary(db)
  }

  record(entry: LedgerEntry): Promise<void> {
    return this.recordMany([entry])
  }

  /** One statement, so the entries are written all together or not at all. */
  async recordMany(entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return
    const write = (numbers: RowNumbers, batch?: SealedBatch): Promise<void> =>
      this.insert(entries, numbers, batch).catch(async (error: unknown) => {
        if (!isMissingPartition(error)) throw error
        // The safety net: the maintenance should have made it already (it stopped, or the clock jumped).
        const created = await this.options.partitions.ensureCovering(entries.map((entry) => entry.issuedAt))
        if (created.length > 0) this.options.onPartitionCreated?.(created)
        await this.insert(entries, numbers, batch)
      })
    try {
      // Before the chain's commit: numbering a new string is a statement of its own, kept even if the rows are not.
      const numbers = await this.numbersOf(entries)
      const chains = this.options.chains
      if (chains === undefined) await write(numbers)
      else await chains.commit(entries, (batch) => write(numbers, batch))
    } catch (error) {
      throw storeFailure('the token ledger cannot be written', error, 'ledger_unavailable')
    }
    this.options.onCommitted?.committed(entries)
  }

  async get(jti: string): Promise<LedgerEntry | undefined> {
    const lookup = jtiLookup(jti)
    if (lookup === undefined) return undefined
    const { sql, params } = jtiQuery(lookup, `SELECT ${ENTRY_SELECT} FROM ledger_entries`, `SELECT ${LEGACY_COLUMNS} FROM ledger_legacy`)
    return (await this.read(sql, params))[0]
  }

  async search(filter: LedgerFilter & PageRequest, now: Date): Promise<Page<LedgerEntry>> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_LEDGER_PAGE) {
      throw new TypeError(`limit must be a whole number from 1 to ${MAX_LEDGER_PAGE}, not ${filter.limit}`)
    }
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, positionOf)
    // grant_ids is uuid[]: anything else matches nothing, and sent as is would make the query fail.
    if (filter.grant !== undefined && !UUID_PATTERN.test(filter.grant)) return { items: [] }
    if (after !== undefined) await this.ensureNotDropped(after.issuedAt)

    const wanted = filter.limit + 1
    // The previous release's table holds no actors column, and no delegated token: nothing there can match.
    const legacy = filter.actor === undefined
    const conditions = (window: IssueTimeWindow): SearchConditions => {
      const of = (form: RowForm): SqlConditions => {
        const where = searchConditions(filter, after, now, this.options.maxTtlSeconds, form)
        if (window.from !== undefined) where.add('issued_at >= ?', window.from)
        if (window.before !== undefined) where.add('issued_at < ?', window.before)
        return where
      }
      // A subject or a source is asked of the compact rows and of the rows of before apart (RowForm says why).
      const apart = filter.subject !== undefined || filter.subjectPrefixes !== undefined || filter.source !== undefined
      return { entries: apart ? [of('compact'), of('spelled')] : [of('compact')], legacy: of('legacy') }
    }
    const selective =
      filter.subject !== undefined ||
      filter.subjectPrefixes !== undefined ||
      filter.grant !== undefined ||
      filter.source !== undefined ||
      filter.audience !== undefined
    // A glob, or a team's prefixes: a range of subjects, which the planner misjudges (readWindow).
    const subjectRange = filter.subjectPrefixes !== undefined || (filter.subject !== undefined && isGlob(filter.subject))
    // Without a selective filter, the issued_at index hands rows over newest first: one read stops after a page.
    const rows = selective
      ? await readInIssueTimeWindows(
          // The first window (the only one without an upper bound of its own) may walk the issued_at index
          // newest first: at worst that reads the window's minute, as the fenced read would, and a filter that
          // matches most tokens (a cluster's source, a popular audience) stops after a page.
          (window, limit) =>
            window.before === undefined
              ? this.readNewest(conditions(window), limit, legacy)
              : this.readWindow(conditions(window), limit, legacy, subjectRange),
          {
            wanted,
            anchor: earliest([now, filter.until, after?.issuedAt]),
            floor: latest([filter.since, filter.live === true ? liveIssuedSince(now, this.options.maxTtlSeconds) : undefined]),
          },
        )
      : await this.readNewest(conditions({}), wanted, legacy)
    return pageOf(rows, filter.limit, (last) => encodeCursor([last.issuedAt.toISOString(), last.jti]))
  }

  /**
   * Up to `limit` rows matching `conditions`, newest first, from the partitions and the legacy table
   * alike: each half walks its issued_at index newest first and stops after `limit`.
   */
  private readNewest(conditions: SearchConditions, limit: number, legacy: boolean): Promise<LedgerEntry[]> {
    const limitParam = withParam(conditions, limit)
    const legacyWhere = legacy ? conditions.legacy.where : 'WHERE false'
    // Every part takes the same parameters (the same list); each is limited on its own first.
    const parts = conditions.entries.map(
      (where) => `(SELECT ${ENTRY_SELECT} FROM ledger_entries ${where.where} ${NEWEST_FIRST} LIMIT ${limitParam})`,
    )
    return this.read(
      `${parts.join(' UNION ALL ')}
       UNION ALL
       (SELECT ${LEGACY_COLUMNS} FROM ledger_legacy ${legacyWhere} ${NEWEST_FIRST} LIMIT ${limitParam})
       ${NEWEST_FIRST} LIMIT ${limitParam}`,
      conditions.legacy.params,
    )
  }

  /**
   * The newest `limit` of a window's matches: every match is read (the window keeps them few) and the
   * newest kept. Fenced (OFFSET 0) from the ORDER BY and LIMIT, or the planner may walk the issued_at
   * index newest first and test each row, a bet on the filter's density that reads the whole window
   * when the filter matches fewer rows than it expects, where the filter's index reads only its matches.
   *
   * For a range of subjects, read with plain index scans off, as bitmaps only: the planner costs the
   * subject index by the whole range of subjects a glob's prefix spans, not by the window bounded
   * inside it, and walked the issued_at index through every row of the window instead (100,000 rows
   * for a namespace's 120, 30 ms against 3 at 10 million rows). As a bitmap, the subject index hands
   * over the window's matches only. (The setting needs a transaction: three round trips more, so only
   * where the planner errs.)
   */
  private readWindow(conditions: SearchConditions, limit: number, legacy: boolean, bitmapsOnly: boolean): Promise<LedgerEntry[]> {
    const limitParam = withParam(conditions, limit)
    const legacyWhere = legacy ? conditions.legacy.where : 'WHERE false'
    const parts = conditions.entries.map((where) => `SELECT ${ENTRY_SELECT} FROM ledger_entries ${where.where}`)
    const sql = `SELECT * FROM (
         ${parts.join(' UNION ALL ')}
         UNION ALL
         SELECT ${LEGACY_COLUMNS} FROM ledger_legacy ${legacyWhere}
         OFFSET 0
       ) AS window_rows ${NEWEST_FIRST} LIMIT ${limitParam}`
    const params = conditions.legacy.params
    if (!bitmapsOnly) return this.read(sql, params)
    return this.readRows(() =>
      this.db.transaction(async (tx) => {
        await tx.query(BITMAPS_ONLY)
        return tx.query<LedgerRow>(sql, params)
      }),
    )
  }

  /** A cursor into entries retention dropped would silently skip them: the client must start again. */
  private async ensureNotDropped(position: Date): Promise<void> {
    let rows: { dropped_before: Date }[]
    try {
      rows = await this.db.query<{ dropped_before: Date }>('SELECT dropped_before FROM ledger_retention')
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
    const droppedBefore = rows.at(0)?.dropped_before
    if (droppedBefore !== undefined && position.getTime() < new Date(droppedBefore).getTime()) {
      throw new GoneError(
        `the cursor points at ${position.toISOString()}, and the ledger keeps nothing issued before ${new Date(droppedBefore).toISOString()} ` +
          '(ledger.retentionDays): list again from the first page, without a cursor',
        'ledger_cursor_expired',
      )
    }
  }

  /** The numbers of the entries' subjects and sources (src/ledger/ledger-dictionary.ts). */
  private async numbersOf(entries: LedgerEntry[]): Promise<RowNumbers> {
    const subjects = await this.dictionary.subjectIds(entries.map((entry) => entry.subject))
    const sources = await this.dictionary.sourceIds(entries.flatMap((entry) => entry.sources))
    return { subjects, sources }
  }

  /** The rows, and their batch where there is one: one statement, so no extra round trip. */
  private async insert(entries: LedgerEntry[], numbers: RowNumbers, batch: SealedBatch | undefined): Promise<void> {
    const params: unknown[] = []
    const withBatch = batch === undefined ? '' : insertBatchSql(batch, params)
    const rows = entries.map((entry) => {
      const subjectId = numbers.subjects.get(entry.subject)
      const sourceIds = entry.sources.map((source) => numbers.sources.get(source))
      const placeholders = compactRowValues(entry, subjectId, sourceIds).map((value) => `$${params.push(value)}`)
      return `(${placeholders.join(', ')})`
    })
    await this.db.query(`${withBatch}INSERT INTO ledger_rows (${COMPACT_COLUMNS}) VALUES ${rows.join(', ')}`, params)
  }

  private read(sql: string, params: unknown[]): Promise<LedgerEntry[]> {
    return this.readRows(() => this.db.query<LedgerRow>(sql, params))
  }

  private async readRows(query: () => Promise<LedgerRow[]>): Promise<LedgerEntry[]> {
    let rows: LedgerRow[]
    try {
      rows = await query()
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
    return rows.map(toEntry)
  }
}

/** The dictionaries' numbers for a batch's subjects and sources. */
interface RowNumbers {
  subjects: Map<string, number>
  sources: Map<string, number>
}

/**
 * One search's conditions for each part of its statement: the `ledger_entries` view (twice for a
 * subject or a source, RowForm says why) and ledger_legacy. Every part has the same parameters in the same
 * order (only the source's condition is spelled differently), so one list serves them all.
 */
interface SearchConditions {
  entries: SqlConditions[]
  legacy: SqlConditions
}

/** Binds one more parameter to every part, and answers its placeholder (the same in each). */
function withParam(conditions: SearchConditions, value: unknown): string {
  for (const part of conditions.entries) part.param(value)
  return conditions.legacy.param(value)
}

/** What `filter` asks of a row, and for a next page, that it comes after the cursor's position. */
function searchConditions(
  filter: LedgerFilter,
  after: Position | undefined,
  now: Date,
  maxTtlSeconds: number,
  form: RowForm,
): SqlConditions {
  const conditions = new SqlConditions()
  // The glob's own anchored regex, so SQL and src/lib/glob.ts agree (test/ledger/ledger-glob.test.ts holds
  // them to it), bounded by its literal prefix for the subject index; a plain SPIFFE ID stays an equality.
  if (filter.subject !== undefined) addSubjectGlob(conditions, form, filter.subject)
  if (filter.subjectPrefixes !== undefined) addSubjectUnder(conditions, form, filter.subjectPrefixes)
  // `@>` rather than `= ANY(...)`: the containment operators are the ones the GIN indexes serve.
  if (filter.grant !== undefined) conditions.add('grant_ids @> ARRAY[?::uuid]', filter.grant)
  if (filter.source !== undefined) addSource(conditions, form, filter.source)
  if (filter.audience !== undefined) conditions.add('audience = ?', filter.audience)
  // No index serves it (each would cost every row bytes, issue 10): it narrows what the others select.
  if (filter.actor !== undefined) conditions.add('actors @> ARRAY[?::text]', filter.actor)
  if (filter.since !== undefined) conditions.add('issued_at >= ?', filter.since)
  if (filter.until !== undefined) conditions.add('issued_at < ?', filter.until)
  if (filter.live === true) {
    conditions.add('expires_at > ?', now)
    // Redundant with the line above, and what confines the query to the partitions that can hold live tokens.
    conditions.add('issued_at >= ?', liveIssuedSince(now, maxTtlSeconds))
  }
  if (filter.live === false) conditions.add('expires_at <= ?', now)
  if (after !== undefined) {
    // The plain bound prunes partitions and walks the issued_at index; the row comparison breaks ties.
    conditions.add('issued_at <= ?', after.issuedAt)
    conditions.add('(issued_at, jti::uuid) < (?, ?::uuid)', after.issuedAt, after.jti)
  }
  return conditions
}

function earliest(instants: (Date | undefined)[]): Date {
  return new Date(Math.min(...instants.filter((at) => at !== undefined).map((at) => at.getTime())))
}

function latest(instants: (Date | undefined)[]): Date | undefined {
  const defined = instants.filter((at) => at !== undefined)
  return defined.length === 0 ? undefined : new Date(Math.max(...defined.map((at) => at.getTime())))
}

/**
 * Pages are newest first, (issuedAt, jti) descending; a cursor is the position of the last entry handed
 * out. Milliseconds are exact: every row is written from a JavaScript Date, so `issued_at` never
 * carries finer precision than the cursor does.
 */
interface Position {
  issuedAt: Date
  jti: string
}

function positionOf([issuedAt, jti]: readonly unknown[]): Position | undefined {
  const date = new Date(String(issuedAt))
  const exact = !Number.isNaN(date.getTime()) && date.toISOString() === issuedAt
  return exact && typeof jti === 'string' && UUID_PATTERN.test(jti) ? { issuedAt: date, jti } : undefined
}
