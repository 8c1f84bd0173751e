/**
 * The SQL seam: one interface over real Postgres (pg) and embedded PGlite, so the ledger and grant
 * stores, and the migrations, are the same code and the same SQL on both.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>
  /** Runs a script of several statements with no parameters (migrations). */
  exec(sql: string): Promise<void>
  /**
   * Inside a transaction: runs `action` once the transaction has committed, never if it rolls back
   * (what must not be told of a change before it is made, such as an export to a SIEM). Absent outside
   * one, where each statement commits as it returns.
   */
  afterCommit?(action: () => void): void
}

/** Runs what was deferred to a commit; one that throws does not keep the others from running. */
export function runAfterCommit(actions: readonly (() => void)[]): void {
  for (const action of actions) {
    try {
      action()
    } catch {
      // The transaction is committed: nothing told of it afterwards may turn it into a failure.
    }
  }
}

export interface PoolStats {
  /** Connections open, idle or lent out. */
  total: number
  idle: number
  /** Callers waiting for a connection. */
  waiting: number
}

export interface Database extends Queryable {
  /** Runs `work` on one connection inside a transaction; rolls back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /** Runs `work` on one dedicated connection (session-level advisory locks need one). */
  withConnection<T>(work: (conn: Queryable) => Promise<T>): Promise<T>
  readonly kind: 'postgres' | 'pglite'
  /** The connection pool's state, where there is one (Postgres): for the metrics. */
  poolStats?(): PoolStats
  close(): Promise<void>
}
