import type { Database } from '../db/database.js'
import { NO_EXCHANGE_OBSERVER, type ExchangeObserver } from '../observability/exchange-observer.js'
import {
  NO_ADMIN_REQUEST_OBSERVER,
  NO_INVENTORY_FLUSH_OBSERVER,
  NO_JWKS_OBSERVER,
  NO_LEDGER_BATCH_OBSERVER,
  NO_LEDGER_CHAIN_OBSERVER,
  NO_REDIS_CONNECTION_WATCH,
  NO_REPLAY_CLAIM_OBSERVER,
  NO_SIGNING_KEY_OBSERVER,
  NO_STREAM_OBSERVER,
  type AdminRequestObserver,
  type InventoryFlushObserver,
  type JwksObserver,
  type LedgerBatchObserver,
  type LedgerChainObserver,
  type RedisConnectionWatch,
  type ReplayClaimObserver,
  type SigningKeyObserver,
  type StreamObserver,
} from '../observability/observers.js'

/** What the state gauges read at each scrape: how current this instance's copies are, the pool. */
export interface StateSources {
  revocations: { stateAgeSeconds(): number | undefined }
  grants: { stateAgeSeconds(): number | undefined }
  database: Pick<Database, 'poolStats'>
}

/** The text of one scrape, in the Prometheus exposition format. */
export interface Scrape {
  contentType: string
  body: string
}

/** Answers a scrape: this process's metrics, or with workers, the whole process group's. */
export type ScrapeSource = () => Promise<Scrape>

/**
 * Everything the service measures, one observer for each part that reports (built in src/compose.ts,
 * passed to each part). Off (`metrics.enabled: false`), every observer does nothing.
 */
export interface Metrics {
  readonly exchanges: ExchangeObserver
  readonly ledger: LedgerBatchObserver
  /** The hash chains' anchor and the export to a SIEM. */
  readonly ledgerChains: LedgerChainObserver
  readonly inventory: InventoryFlushObserver
  readonly jwks: JwksObserver
  readonly replay: ReplayClaimObserver
  readonly admin: AdminRequestObserver
  readonly streams: StreamObserver
  readonly redis: RedisConnectionWatch
  readonly signingKeys: SigningKeyObserver
  /** The state gauges read these from now on. */
  watch(sources: StateSources): void
  /** This process's metrics, or undefined when metrics are off. */
  readonly scrape: ScrapeSource | undefined
}

export const NO_METRICS: Metrics = {
  exchanges: NO_EXCHANGE_OBSERVER,
  ledger: NO_LEDGER_BATCH_OBSERVER,
  ledgerChains: NO_LEDGER_CHAIN_OBSERVER,
  inventory: NO_INVENTORY_FLUSH_OBSERVER,
  jwks: NO_JWKS_OBSERVER,
  replay: NO_REPLAY_CLAIM_OBSERVER,
  admin: NO_ADMIN_REQUEST_OBSERVER,
  streams: NO_STREAM_OBSERVER,
  redis: NO_REDIS_CONNECTION_WATCH,
  signingKeys: NO_SIGNING_KEY_OBSERVER,
  watch() {},
  scrape: undefined,
}
