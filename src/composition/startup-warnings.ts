import type { Logger } from 'pino'
import type { AttestorRegistry } from '../attestors/registry.js'
import type { Config } from '../config.js'
import { trustProxyWarnings } from '../http/trust-proxy.js'
import { keptPartitionWarning } from '../ledger/partition-bound.js'

/** Said at start, so an operator whose every admin call answers 401 finds why and the remedy in the log. */
const CLOSED_ADMIN_API_WARNING =
  'no admin token is configured (admin.token or STS_ADMIN_TOKEN): the admin API (/v1) and introspection are closed, ' +
  'every call answers 401 unless it carries a scoped admin token made earlier; ' +
  'set STS_ADMIN_TOKEN (at least 24 characters) or admin.token to open them'

/** What the configuration lets start but an operator should hear of: no attestors, trusting any proxy, too many partitions, a closed admin API. */
export function warnAtStart(config: Config, attestors: AttestorRegistry, logger: Logger): void {
  if (config.attestors.length === 0) logger.warn('no attestors are configured: every token exchange will be refused')
  for (const warning of attestors.startupWarnings()) logger.warn(warning)
  for (const warning of trustProxyWarnings(config)) logger.warn({ trustProxy: config.trustProxy }, warning)
  const partitionWarning = keptPartitionWarning(config.ledger.retentionDays, config.ledger.partitionInterval)
  if (partitionWarning) logger.warn({ ledger: config.ledger }, partitionWarning)
  // With admin.oidc, people sign in with the identity provider: the API is not closed.
  if (config.admin.token === undefined && config.admin.oidc === undefined) logger.warn(CLOSED_ADMIN_API_WARNING)
}
