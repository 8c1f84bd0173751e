import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { LocalGrantFeed } from '../grants/grant-feed.js'
import { RedisGrantFeed } from '../grants/redis-grant-feed.js'
import { developmentKek } from '../keys/development-kek.js'
import { keyEncryptionKeysOf } from '../keys/key-encryption-keys.js'
import { KeyMaintenance } from '../keys/key-maintenance.js'
import { KeyRing } from '../keys/key-ring.js'
import { KeyService } from '../keys/key-service.js'
import { openSigner } from '../keys/open-signer.js'
import { readPemKeyFiles } from '../keys/pem-key-files.js'
import type { Signer } from '../keys/signer.js'
import { SoftwareSigner } from '../keys/software-signer.js'
import { SqlSigningKeyStore } from '../keys/sql-key-store.js'
import type { Clock } from '../lib/clock.js'
import type { Metrics } from '../metrics/metrics.js'
import type { RevocationLog } from '../revocation/revocation-log.js'
import type { RevocationService } from '../revocation/revocation-service.js'
import { redisConnection } from './stores.js'

/**
 * The signing keys: in the database, their private halves sealed with the key-encryption key or kept in
 * a PKCS#11 token (src/keys/open-signer.ts); the PEM files of an earlier release imported once; this
 * instance's copy kept current by the change feed (Redis with REDIS_URL, like the grants'); the upkeep
 * on its timer.
 */
export async function openSigningKeys(
  config: Config,
  database: Database,
  audit: AuditLog,
  revocations: RevocationService,
  revocationLog: RevocationLog,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
): Promise<{ ring: KeyRing; service: KeyService; signer: Signer; close: () => Promise<void> }> {
  // A key-encryption key for the software signer: with signer pkcs11, only if one is given (keys sealed before the move).
  const sealing = config.keys.signer === 'software' || config.keys.encryptionKey !== undefined
  const keks = sealing ? keyEncryptionKeysOf(keyEncryptionKey(config, logger), config.keys.previousEncryptionKeys) : undefined
  const software = keks && new SoftwareSigner(keks)
  const signer = await openSigner(config.keys, software, logger)
  const store = new SqlSigningKeyStore(database)
  const redis = redisConnection(config, metrics)
  const topic = { name: 'keys', describes: 'signing key change feed', unavailable: 'keys_unavailable' } as const
  const feed = redis ? new RedisGrantFeed({ ...redis, keyPrefix: config.redis.keyPrefix, topic }, logger) : new LocalGrantFeed()
  const { catchUpIntervalMs, maxStalenessMs } = config.keys
  const ring = new KeyRing(store, signer, feed, {
    catchUpIntervalMs,
    maxStalenessMs,
    logger,
    rotateEveryMs: config.keys.rotateEveryDays * 86_400_000,
    observer: metrics.signingKeys,
  })
  const service = new KeyService({
    store,
    signer,
    ring,
    revocations,
    audit,
    clock,
    logger,
    algorithm: config.keys.algorithm,
    sealing: software,
    observer: metrics.signingKeys,
    timings: {
      jwksMaxAgeMs: config.keys.jwksMaxAgeSeconds * 1000,
      // A replica hears of a change within its staleness bound (or stops signing), and replicas' clocks
      // agree within clockSkewSeconds.
      propagationMs: maxStalenessMs + config.clockSkewSeconds * 1000,
      maxTokenLifetimeMs: config.tokens.maxTtlSeconds * 1000,
      rotateEveryMs: config.keys.rotateEveryDays * 86_400_000,
    },
  })
  try {
    if ((await service.bootstrap(() => readPemKeyFiles(config.keys.dir))) === 'imported') {
      logger.warn(
        { dir: config.keys.dir },
        'the PEM signing keys of keys.dir were imported into the database, once: they are not read again; ' +
          'delete them once every replica runs this release (they are private keys in the clear)',
      )
    }
    await service.checkKeks()
    await ring.start()
    const reRevoked = await service.enforceKeyRevocations(await revocationLog.listInForce(new Date(clock.now())))
    if (reRevoked.length > 0)
      logger.warn({ kids: reRevoked }, 'signing keys whose revocation stands were in use (a restored database): revoked again and replaced')
  } catch (error) {
    await ring.close()
    await signer.close()
    throw error
  }
  const maintenance = new KeyMaintenance(service, logger, config.keys.maintenanceIntervalSeconds * 1000)
  maintenance.start()
  return {
    ring,
    service,
    signer,
    close: async () => {
      await maintenance.stop()
      await ring.close()
      await signer.close()
    },
  }
}

/** STS_KEY_ENCRYPTION_KEY or keys.encryptionKeyFile; on the development defaults, one kept in the data directory. */
function keyEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.keys.encryptionKey !== undefined) return Buffer.from(config.keys.encryptionKey, 'base64')
  const made = developmentKek(config.database.dataDir)
  if (made.file) {
    logger.warn(
      { file: made.file, created: made.created },
      'the signing keys are encrypted with a development key-encryption key kept beside the database, which protects nothing: ' +
        'for anything but development set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile)',
    )
  }
  return made.key
}
