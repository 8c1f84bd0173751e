import type { Queryable } from '../db/database.js'

/**
 * The numbers ledger rows store for subjects and attestation sources (migration 023): each string is
 * numbered once, in ledger_subjects or ledger_sources, and never renumbered nor reused, so a number
 * once read stays right for the life of the process and is kept here. In steady state a batch of
 * rows needs no round trip for its numbers: the fleet's subjects, nodes and clusters are few next
 * to its tokens, and a pod's own source is numbered at its first token.
 */

/** One dictionary: its table and the column holding the strings (its unique index's opclass too). */
interface DictionaryTable {
  table: string
  column: string
  conflict: string
}

const SUBJECTS: DictionaryTable = { table: 'ledger_subjects', column: 'subject', conflict: '(subject text_pattern_ops)' }
const SOURCES: DictionaryTable = { table: 'ledger_sources', column: 'source', conflict: '(source)' }

/**
 * Strings kept per dictionary, the most recently used: about 10 MB each when full (about 100 bytes a
 * string). An instance serves a share of the fleet, and a fleet of 100,000 workloads has 100,000
 * subjects and about as many live sources (its pods', plus their nodes' and clusters'); past this,
 * the least recently used go and cost a read when next needed (one round trip for a whole batch).
 */
export const DICTIONARY_CACHE_SIZE = 100_000

/** A bounded map that forgets the least recently used entry first (a Map keeps insertion order). */
class RecentNumbers {
  private readonly numbers = new Map<string, number>()

  constructor(private readonly capacity: number) {}

  get(value: string): number | undefined {
    const id = this.numbers.get(value)
    if (id !== undefined) {
      this.numbers.delete(value)
      this.numbers.set(value, id)
    }
    return id
  }

  set(value: string, id: number): void {
    this.numbers.delete(value)
    this.numbers.set(value, id)
    if (this.numbers.size > this.capacity) {
      const oldest = this.numbers.keys().next().value
      if (oldest !== undefined) this.numbers.delete(oldest)
    }
  }

  get size(): number {
    return this.numbers.size
  }
}

export class LedgerDictionary {
  private readonly subjects: RecentNumbers
  private readonly sources: RecentNumbers

  constructor(
    private readonly db: Queryable,
    capacity = DICTIONARY_CACHE_SIZE,
  ) {
    this.subjects = new RecentNumbers(capacity)
    this.sources = new RecentNumbers(capacity)
  }

  /** The number of each subject, numbering those seen for the first time. */
  subjectIds(subjects: readonly string[]): Promise<Map<string, number>> {
    return this.numbersOf(SUBJECTS, this.subjects, subjects)
  }

  /** The number of each source, numbering those seen for the first time. */
  sourceIds(sources: readonly string[]): Promise<Map<string, number>> {
    return this.numbersOf(SOURCES, this.sources, sources)
  }

  /** How many strings are kept in memory, per dictionary (for the tests and the bench). */
  get cached(): { subjects: number; sources: number } {
    return { subjects: this.subjects.size, sources: this.sources.size }
  }

  private async numbersOf(dictionary: DictionaryTable, cache: RecentNumbers, values: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>()
    const missing = new Set<string>()
    for (const value of values) {
      const id = cache.get(value)
      if (id === undefined) missing.add(value)
      else found.set(value, id)
    }
    if (missing.size === 0) return found
    const { table, column, conflict } = dictionary
    const read = async (wanted: string[]): Promise<void> => {
      const rows = await this.db.query<{ id: number; value: string }>(
        `SELECT id, ${column} AS value FROM ${table} WHERE ${column} = ANY($1::text[])`,
        [wanted],
      )
      for (const row of rows) remember(row)
    }
    const remember = (row: { id: number; value: string }): void => {
      cache.set(row.value, row.id)
      found.set(row.value, row.id)
      missing.delete(row.value)
    }
    await read([...missing])
    if (missing.size > 0) {
      // Numbered here, unless another writer numbers one first: its insert commits (this one waits
      // for it and leaves the string be), and the read after this, a statement of its own, sees it.
      const rows = await this.db.query<{ id: number; value: string }>(
        `INSERT INTO ${table} (${column}) SELECT unnest($1::text[]) ORDER BY 1
           ON CONFLICT ${conflict} DO NOTHING RETURNING id, ${column} AS value`,
        [[...missing]],
      )
      for (const row of rows) remember(row)
    }
    if (missing.size > 0) await read([...missing])
    if (missing.size > 0) throw new Error(`${table}: no number for ${missing.size} of the ledger's values`)
    return found
  }
}
