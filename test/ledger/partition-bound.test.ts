import t from 'tap'
import { keptPartitions, keptPartitionWarning } from '../../src/ledger/partition-bound.js'

t.test('the partitions a retention keeps', async (t) => {
  t.same(
    [keptPartitions(90, 'day'), keptPartitions(16, 'hour'), keptPartitions(90, 'hour'), keptPartitions(0, 'day')],
    [90, 384, 2160, Number.POSITIVE_INFINITY],
  )
})

t.test('a warning at start where daily partitions kept may pass 400', async (t) => {
  t.same(
    [keptPartitionWarning(90, 'day'), keptPartitionWarning(400, 'day'), keptPartitionWarning(16, 'hour')],
    [undefined, undefined, undefined],
  )
  t.equal(
    keptPartitionWarning(401, 'day'),
    "the ledger keeps 401 daily partitions: past 400, a search without a time bound locks more partitions than Postgres's " +
      'default lock table may hold; raise max_locks_per_transaction (README, Running in production)',
  )
  t.equal(
    keptPartitionWarning(0, 'day'),
    'the ledger keeps every daily partition, forever (ledger.retentionDays 0): past 400, a search without a time bound locks more ' +
      "partitions than Postgres's default lock table may hold; raise max_locks_per_transaction (README, Running in production)",
  )
})
