-- Tamper evidence for the ledger (README, "Tamper evidence"). Expand only: new tables, nothing of
-- ledger_entries changes, so a replica of the previous release keeps writing the ledger as before
-- (its rows belong to no batch: `sts ledger verify` reports them as unchained rows of the previous
-- release while they are no newer than this migration plus a day of rolling restart).
--
-- Each writer keeps its own chains (src/ledger/chain/ledger-chains.ts): every committed batch of
-- ledger rows writes one row here, on the same statement as its rows, holding the hash of each row
-- (in jti order), the hash over them, and the hash of the batch before it in the same chain. Rows
-- find their batch by jti: no column, and no index, is added to the ledger's rows.
CREATE TABLE ledger_batches (
  -- A UUIDv7 made when the chain starts (an instance's start, or a chain ended by a failed commit).
  chain_id     uuid NOT NULL,
  -- 1 for a chain's first batch, whose prev_hash is null; then one more per batch.
  seq          bigint NOT NULL,
  -- The earliest and latest issued_at of the batch's rows.
  issued_from  timestamptz NOT NULL,
  issued_to    timestamptz NOT NULL,
  -- The writer's clock when it sealed the batch.
  committed_at timestamptz NOT NULL,
  row_count    integer NOT NULL,
  -- SHA-256 of row_hashes; SHA-256 of the batch's canonical form (every column above and prev_hash).
  prev_hash    bytea,
  rows_hash    bytea NOT NULL,
  batch_hash   bytea NOT NULL,
  -- The rows, in jti order, and the SHA-256 of each (32 bytes each, in the same order). Both are
  -- cleared once retention has dropped the rows (the hashes above still verify the chain).
  jtis         uuid[],
  row_hashes   bytea,
  PRIMARY KEY (chain_id, seq)
);
-- Verification by time range, and the compaction of batches whose rows retention dropped.
CREATE INDEX ledger_batches_issued_from_idx ON ledger_batches (issued_from);
CREATE INDEX ledger_batches_issued_to_idx ON ledger_batches (issued_to);

-- Every partition ledger retention dropped, written on the drop's own transaction: verification
-- tells rows gone with their partition from rows deleted one by one.
CREATE TABLE ledger_partition_drops (
  partition   text PRIMARY KEY,
  period_from timestamptz NOT NULL,
  period_to   timestamptz NOT NULL,
  dropped_at  timestamptz NOT NULL,
  -- The batches with a row in the period when it was dropped, and the rows of those wholly inside it.
  batches     bigint NOT NULL,
  batch_rows  bigint NOT NULL
);
