/**
 * Every advisory lock id of the service, in one place, so two jobs never share one by accident (the
 * ledger's move and the audit partitions once did: each then waited for the other's whole run).
 * Postgres has one space of advisory lock keys per database; these are arbitrary but fixed, and an
 * id in SQL (a migration's trigger) names its constant here in a comment.
 * test/db/advisory-locks.test.ts holds them distinct and the SQL to the same numbers.
 */
export const ADVISORY_LOCKS = {
  /** Session lock: one instance applies migrations at a time (src/db/migrations.ts). */
  migrations: 7_305_553_001,
  /** Transaction lock taken by migration 010's triggers: grant changes numbered in commit order. */
  grantChanges: 7_305_553_010,
  /** Transaction lock: one instance creates ledger partitions at a time (src/ledger/ledger-partitions.ts). */
  ledgerPartitions: 7_305_553_011,
  /** Session lock: one instance moves the previous release's ledger rows (src/ledger/legacy-ledger-move.ts). */
  legacyLedgerMove: 7_305_553_012,
  /** Transaction lock: one instance makes or drops audit log partitions at a time (src/audit/sql-audit-partitions.ts). */
  auditPartitions: 7_305_553_013,
  /** Transaction lock taken by migration 014's trigger: revocation positions numbered in commit order. */
  revocationChanges: 7_305_553_014,
  /** Transaction lock: one instance changes the signing keys at a time (src/keys/sql-key-store.ts). */
  signingKeys: 7_305_553_015,
  /** Session lock: one instance disables the grants unused too long at a time (src/reports/unused-grant-policy.ts). */
  unusedGrants: 7_305_553_016,
} as const
