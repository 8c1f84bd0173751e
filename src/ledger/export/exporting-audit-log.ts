import type { AuditEntry, AuditLog } from '../../audit/audit-log.js'
import type { Queryable } from '../../db/database.js'
import type { LedgerExport } from './ledger-export.js'

/**
 * The audit log, with each entry this instance writes also handed to the export. Handed over once
 * written on the change's transaction, before it commits (the audit log cannot see the commit): a
 * change whose transaction then fails is exported all the same, which a SIEM can tell by its absence
 * from GET /v1/audit.
 */
export class ExportingAuditLog implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    private readonly exporter: Pick<LedgerExport, 'audited'>,
  ) {}

  async record(tx: Queryable, entry: AuditEntry): Promise<void> {
    await this.inner.record(tx, entry)
    this.exporter.audited([entry])
  }

  async recordMany(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
    await this.inner.recordMany(tx, entries)
    this.exporter.audited(entries)
  }

  list: AuditLog['list'] = (filter) => this.inner.list(filter)
}
