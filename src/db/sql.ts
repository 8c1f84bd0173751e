import { InvalidInputError } from '../errors.js'
import { globToSqlPattern, isGlob } from '../lib/glob.js'
import type { Page } from '../lib/page.js'

/**
 * What every SQL store shares: a WHERE clause built from the filters a caller set, the cursors its
 * pages hand out, and the page itself.
 */

/**
 * Conditions joined with AND, each bound to numbered parameters in the order they were added. Values
 * are only ever parameters, never SQL text; in a condition, `?` is always a placeholder.
 *
 * @example
 * const conditions = new SqlConditions()
 * if (filter.owner !== undefined) conditions.add('owner = ?', filter.owner)
 * const limit = conditions.param(filter.limit + 1)
 * await db.query(`SELECT ${COLUMNS} FROM grants ${conditions.where} ORDER BY created_at, id LIMIT ${limit}`, conditions.params)
 */
export class SqlConditions {
  readonly params: unknown[] = []
  private readonly conditions: string[] = []

  /** Adds `condition`, each `?` in it bound to the next of `values`. */
  add(condition: string, ...values: unknown[]): this {
    const placeholders = condition.split('?').length - 1
    if (placeholders !== values.length) throw new TypeError(`${condition} has ${placeholders} placeholders for ${values.length} values`)
    let next = 0
    // Parenthesised, so a condition with an OR in it cannot change what its neighbours mean.
    this.conditions.push(`(${condition.replace(/\?/g, () => this.param(values[next++]))})`)
    return this
  }

  /**
   * `column` matches `glob` (src/lib/glob.ts): equality for a plain value, else the glob's anchored
   * regex. A glob that starts with literal characters also bounds the column to the range of values
   * starting with them, which a `text_pattern_ops` index answers: given as a parameter, the regex
   * hides its prefix from the planner, which then reads the whole table through another index.
   */
  matchGlob(column: string, glob: string): this {
    if (!isGlob(glob)) return this.add(`${column} = ?`, glob)
    const prefix = glob.slice(0, Math.min(...['*', '?'].map((w) => glob.indexOf(w)).filter((i) => i !== -1)))
    if (prefix.length > 0) {
      this.add(`${column} ~>=~ ?`, prefix)
      // Byte order: past every value that starts with the prefix when its last character is ASCII.
      const last = prefix.charCodeAt(prefix.length - 1)
      if (last < 0x7f) this.add(`${column} ~<~ ?`, prefix.slice(0, -1) + String.fromCharCode(last + 1))
    }
    // regexp_like, the `~` operator called as a function: the same match, but the planner gives a
    // function a fixed selectivity, where for the operator it runs the regex over the column's whole
    // histogram and most common values (11 ms of planning at 2,000 of each) to guess what the
    // prefix range above already says.
    return this.add(`regexp_like(${column}, ?)`, globToSqlPattern(glob))
  }

  /**
   * `column` is one of `prefixes` or starts with one and a `/`: an ID at or below a prefix, or a glob
   * whose every match is (src/admin-tokens/team-scope.ts, subjectUnderPrefix, which it mirrors).
   */
  underPrefixes(column: string, prefixes: readonly string[]): this {
    if (prefixes.length === 0) return this.add('false')
    return this.add(prefixes.map(() => `${column} = ? OR starts_with(${column}, ?)`).join(' OR '), ...prefixes.flatMap((p) => [p, `${p}/`]))
  }

  /**
   * Adds the conditions `build` adds to a group of their own, joined with AND and put where `wrap`
   * says (a subquery's WHERE, say), bound here in the order they were added.
   */
  within(wrap: (conditions: string) => string, build: (inner: SqlConditions) => unknown): this {
    const inner = new SqlConditions()
    build(inner)
    // Each of the group's placeholders appears once, in the order it was bound: renumbered after this one's.
    const grouped = inner.conditions.join(' AND ').replace(/\$(\d+)/g, (_, n: string) => this.param(inner.params[Number(n) - 1]))
    this.conditions.push(`(${wrap(grouped)})`)
    return this
  }

  /** Binds one more parameter, such as a LIMIT, and answers its placeholder. */
  param(value: unknown): string {
    return `$${this.params.push(value)}`
  }

  /** `WHERE a AND b`, or nothing when no condition was added. */
  get where(): string {
    return this.conditions.length === 0 ? '' : `WHERE ${this.conditions.join(' AND ')}`
  }
}

/**
 * A page of `rows` read with `LIMIT limit + 1`: the extra row is not handed out, it only says that
 * there is a next page, which starts after the page's last item.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorAfter: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return rows.length > limit && last !== undefined ? { items, nextCursor: cursorAfter(last) } : { items }
}

/**
 * An opaque cursor: the sort key of the last row handed out (a keyset position), as base64url of a
 * JSON array of strings. Opaque to clients, who only pass it back.
 */
export function encodeCursor(position: readonly string[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

/**
 * The position an opaque cursor holds. `read` checks its parts and answers the position, or
 * undefined when they are not one this store hands out; anything else is an InvalidInputError.
 */
export function decodeCursor<Position>(cursor: string, read: (parts: readonly unknown[]) => Position | undefined): Position {
  let parts: unknown
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  const position = Array.isArray(parts) ? read(parts) : undefined
  if (position === undefined) throw invalidCursor()
  return position
}

/** The largest bigint Postgres holds: the bound of every sequence position. */
const MAX_BIGINT = 2n ** 63n - 1n

/**
 * A position in an append-only sequence (an audit entry's id, a revocation's change position). Its
 * cursor is the number itself, in decimal: what clients have always been shown, and what a poller
 * or a stream resumes from.
 */
export function sequenceCursor(position: bigint | number): string {
  return String(position)
}

export function decodeSequenceCursor(cursor: string): bigint {
  if (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > MAX_BIGINT) throw invalidCursor()
  return BigInt(cursor)
}

function invalidCursor(): InvalidInputError {
  return new InvalidInputError('the cursor is not one this API handed out', [{ path: 'cursor', message: 'invalid cursor' }])
}
