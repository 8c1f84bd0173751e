import type { PartitionInterval } from './ledger-partitions.js'

/**
 * How many ledger partitions one search may plan over. A search without a time bound (and a lookup of
 * a jti of the release before) locks every partition kept, and Postgres has room for about
 * max_locks_per_transaction (64) × max_connections locks in all: at 2,160 hourly partitions such a
 * search fails with "out of shared memory". 400 stays well inside the defaults for a handful of them.
 */
export const MAX_KEPT_PARTITIONS = 400

/** The partitions `ledger.retentionDays` keeps (Infinity: 0 keeps them all, forever). */
export function keptPartitions(retentionDays: number, interval: PartitionInterval): number {
  if (retentionDays === 0) return Number.POSITIVE_INFINITY
  return retentionDays * (interval === 'hour' ? 24 : 1)
}

/** What to warn about at start: daily partitions kept for more than MAX_KEPT_PARTITIONS days. */
export function keptPartitionWarning(retentionDays: number, interval: PartitionInterval): string | undefined {
  if (keptPartitions(retentionDays, interval) <= MAX_KEPT_PARTITIONS) return undefined
  const kept = retentionDays === 0 ? 'every daily partition, forever (ledger.retentionDays 0)' : `${retentionDays} daily partitions`
  return (
    `the ledger keeps ${kept}: past ${MAX_KEPT_PARTITIONS}, a search without a time bound locks more partitions than Postgres's ` +
    'default lock table may hold; raise max_locks_per_transaction (README, Running in production)'
  )
}
