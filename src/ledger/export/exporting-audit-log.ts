import type { AuditEntry, AuditLog } from '../../audit/audit-log.js'
import type { Queryable } from '../../db/database.js'
import type { LedgerExport } from './ledger-export.js'

/**
 * The audit log, with each entry this instance writes also handed to the export, once the change's
 * transaction has committed: a change that rolls back is never exported. (A crash between the commit
 * and the hand-over loses the export of that entry; GET /v1/audit keeps it.)
 */
export class ExportingAuditLog implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    private readonly exporter: Pick<LedgerExport, 'audited'>,
  ) {}

  async record(tx: Queryable, entry: AuditEntry): Promise<void> {
    await this.inner.record(tx, entry)
    this.whenCommitted(tx, [entry])
  }

  async recordMany(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
    await this.inner.recordMany(tx, entries)
    this.whenCommitted(tx, entries)
  }

  private whenCommitted(tx: Queryable, entries: readonly AuditEntry[]): void {
    if (tx.afterCommit) tx.afterCommit(() => this.exporter.audited(entries))
    // Not in a transaction: the statement committed as it returned.
    else this.exporter.audited(entries)
  }

  list: AuditLog['list'] = (filter) => this.inner.list(filter)
}
