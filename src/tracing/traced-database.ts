import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api'
import type { Database, Queryable } from '../db/database.js'
import type { SpanScope } from './span-scope.js'

export const DB_SPAN = 'db.query'

/**
 * The database seam with a CLIENT span (`db.query`) around each statement made inside a traced exchange.
 * A span carries the statement's first keyword only (`SELECT`, `INSERT`...): never its text, which
 * could grow to hold values, and never its parameters. Statements outside any exchange (the feeds,
 * maintenance) make no span: they would be root spans by the thousand with nothing to explain.
 */
export function tracedDatabase(database: Database, tracer: Tracer, scope: SpanScope): Database {
  const traced = <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    const parent = scope.current()
    if (parent === undefined) return run()
    const span = tracer.startSpan(
      DB_SPAN,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system': 'postgresql', 'db.system.name': 'postgresql', 'db.operation.name': firstKeyword(sql) },
      },
      parent,
    )
    return run().then(
      (result) => {
        span.end()
        return result
      },
      (error: unknown) => {
        // The SQLSTATE or the error's class only: a database message may quote the values of the statement.
        span.setStatus({ code: SpanStatusCode.ERROR, message: failureOf(error) })
        span.end()
        throw error
      },
    )
  }
  const on = (queryable: Queryable): Queryable => ({
    query: (sql, params) => traced(sql, () => queryable.query(sql, params)),
    exec: (sql) => traced(sql, () => queryable.exec(sql)),
    ...(queryable.afterCommit ? { afterCommit: queryable.afterCommit.bind(queryable) } : {}),
  })
  return {
    kind: database.kind,
    query: (sql, params) => traced(sql, () => database.query(sql, params)),
    exec: (sql) => traced(sql, () => database.exec(sql)),
    transaction: (work) => database.transaction((tx) => work(on(tx))),
    withConnection: (work) => database.withConnection((connection) => work(on(connection))),
    ...(database.poolStats ? { poolStats: database.poolStats.bind(database) } : {}),
    close: () => database.close(),
  }
}

/**
 * The statement's operation: its first keyword past comments and blanks, upper-cased, or after `WITH`
 * the keyword of the statement its common table expressions belong to (`WITH batch AS (INSERT ...)
 * INSERT ...` is an INSERT); `OTHER` when there is none.
 */
export function firstKeyword(sql: string): string {
  const match = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/.exec(sql)
  const first = match?.[1] ? match[1].toUpperCase() : 'OTHER'
  return first === 'WITH' ? (mainStatementKeyword(sql.slice(match![0].length)) ?? first) : first
}

const MAIN_STATEMENT = /^(SELECT|INSERT|UPDATE|DELETE|MERGE)\b/i

/** The first statement keyword outside every parenthesis, string and quoted name: the CTEs' own are inside theirs. */
function mainStatementKeyword(rest: string): string | undefined {
  let depth = 0
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]
    if (c === "'" || c === '"') {
      const end = rest.indexOf(c, i + 1)
      if (end < 0) return undefined
      i = end
    } else if (c === '(') depth++
    else if (c === ')') depth--
    else if (depth === 0 && /[A-Za-z]/.test(c) && !/[A-Za-z0-9_]/.test(rest[i - 1] ?? ' ')) {
      const keyword = MAIN_STATEMENT.exec(rest.slice(i))
      if (keyword) return keyword[1].toUpperCase()
    }
  }
  return undefined
}

function failureOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `SQLSTATE ${code}`
  return error instanceof Error ? error.name : 'error'
}
