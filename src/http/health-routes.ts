import type { FastifyInstance } from 'fastify'
import type { Database } from '../db/database.js'
import { ServiceUnavailableError } from '../errors.js'
import type { GrantCatalog } from '../grants/grant-catalog.js'
import type { KeyRing } from '../keys/key-ring.js'
import type { RevocationChecker } from '../revocation/revocation-cache.js'
import { healthOperations } from './health-operations.js'

export interface HealthOptions {
  database: Database
  revocations: RevocationChecker
  grants: Pick<GrantCatalog, 'candidatesFor'>
  keys: Pick<KeyRing, 'signingKey'>
}

/** /healthz: the process answers. /readyz: it can issue tokens (ledger reachable, revocation state, grants and keys current). */
export async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  // Never shed: an overloaded instance is alive, and still ready (README, Overload, says why).
  const config = { overload: 'never-shed' as const }
  app.get('/healthz', { config, schema: healthOperations.liveness }, async () => ({ status: 'ok' }))
  app.get('/readyz', { config, schema: healthOperations.readiness }, async () => {
    try {
      await options.database.query('SELECT 1')
    } catch (error) {
      throw new ServiceUnavailableError('the ledger database is not reachable', 'database_unavailable', error)
    }
    await options.revocations.findRevoked([{ kind: 'subject', value: 'readiness-probe' }])
    await options.grants.candidatesFor('readiness-probe')
    options.keys.signingKey()
    return { status: 'ready' }
  })
}
