/**
 * What the stores and the HTTP layer tell whoever observes them (the metrics, src/metrics/), each a
 * small interface declared here so that no store depends on prom-client, with a no-op for each. The
 * composition root (src/compose.ts) passes the real ones, or the no-ops when metrics are off.
 */

/** The ledger's group commit (src/ledger/batching-ledger.ts). */
export interface LedgerBatchObserver {
  /** A batch of `entries` was written (`ok`) or failed, in `seconds`. */
  committed(entries: number, seconds: number, ok: boolean): void
}

/** The ledger's hash chains: their anchor and the export of events to a SIEM (src/ledger/chain, src/ledger/export). */
export interface LedgerChainObserver {
  /** The heads of this writer's chains, as just anchored: they replace those told before. */
  anchored(heads: readonly { chainId: string; seq: number; batchHash: string }[]): void
  anchorWebhookFailed(): void
  /** Events written to an export sink (`sink`: file or webhook). */
  exported(sink: string, events: number): void
  /** Events not exported: the sink's queue was full. */
  exportDropped(sink: string, events: number): void
  /** A write to the sink failed (its events stay queued and are tried again). */
  exportFailed(sink: string): void
}

/** The inventory's roll-ups written behind the ledger (src/inventory/inventory-recorder.ts). */
export interface InventoryFlushObserver {
  /** A write of `rows` roll-up rows succeeded (`ok`) or failed (they are kept for the next), in `seconds`. */
  flushed(rows: number, seconds: number, ok: boolean): void
  /** `rows` roll-up rows were dropped unwritten: the cap on what is held was reached while writes failed. */
  dropped(rows: number): void
}

/** Remote key sets of attestation issuers (src/jose/jwks-key-set.ts). */
export interface JwksObserver {
  /** A fetch of the key set of `attestor` (a configured name) gave a usable set (`ok`) or failed. */
  fetched(attestor: string, ok: boolean): void
  /** `attestor` is configured no more (a reload removed it): nothing of its key set is reported from now on. */
  removed(attestor: string): void
}

export type ReplayClaimResult = 'accepted' | 'replayed' | 'unavailable'

/** Claims on single-use attestations (src/replay/). */
export interface ReplayClaimObserver {
  claimed(result: ReplayClaimResult): void
}

/** Answers of the admin API (src/http/admin/admin-api.ts). */
export interface AdminRequestObserver {
  /** `route` is the route's pattern (`/v1/grants/:id`), never the URL. */
  answered(method: string, route: string, status: number): void
}

/** Revocation streams (src/http/admin/revocation-stream.ts). */
export interface StreamObserver {
  opened(): void
  closed(): void
}

/** A Redis connection as far as an observer needs it. */
export interface WatchedConnection {
  /** ioredis's: `ready` when it can take commands. */
  readonly status: string
}

/** Every Redis connection the service opens (src/lib/redis-connection.ts). */
export interface RedisConnectionWatch {
  /** `purpose` is fixed by the code (`revocations`, `replay`...), one per connection. */
  opened(purpose: string, connection: WatchedConnection): void
}

/**
 * The signing key's lifecycle, fed by the key store: when the key that signs now is planned to stop
 * signing (its rotation is due, or at the latest its maximum life). Undefined when nothing is planned.
 */
export interface SigningKeyObserver {
  signing(kid: string, retiresAtMillis: number | undefined): void
  /** After each re-seal run (src/keys/key-reseal.ts): how many keys remain under a key-encryption key other than the current one. */
  sealedUnderPreviousKek(count: number): void
}

export const NO_LEDGER_BATCH_OBSERVER: LedgerBatchObserver = { committed() {} }
export const NO_LEDGER_CHAIN_OBSERVER: LedgerChainObserver = {
  anchored() {},
  anchorWebhookFailed() {},
  exported() {},
  exportDropped() {},
  exportFailed() {},
}
export const NO_INVENTORY_FLUSH_OBSERVER: InventoryFlushObserver = { flushed() {}, dropped() {} }
export const NO_JWKS_OBSERVER: JwksObserver = { fetched() {}, removed() {} }
export const NO_REPLAY_CLAIM_OBSERVER: ReplayClaimObserver = { claimed() {} }
export const NO_ADMIN_REQUEST_OBSERVER: AdminRequestObserver = { answered() {} }
export const NO_STREAM_OBSERVER: StreamObserver = { opened() {}, closed() {} }
export const NO_REDIS_CONNECTION_WATCH: RedisConnectionWatch = { opened() {} }
export const NO_SIGNING_KEY_OBSERVER: SigningKeyObserver = { signing() {}, sealedUnderPreviousKek() {} }

/** One traced request of a route other than the token endpoint's (introspection). */
export interface RequestTrace {
  /** The handler runs in the request's span from here on: its database calls are its children. */
  entered(): void
  /** `active` is what introspection answered, when it answered. */
  finished(status: number, active: boolean | undefined): void
}

/** Traces of token introspection (src/tracing/), absent when tracing is off. */
export interface IntrospectionTracer {
  /** `headers` may carry the caller's W3C `traceparent` (untrusted). */
  begin(headers: Readonly<Record<string, string | string[] | undefined>>): RequestTrace
}
