import type { FastifyInstance } from 'fastify'
import type { AdminTokenStore } from '../../admin-tokens/admin-token-store.js'
import type { AuditLog } from '../../audit/audit-log.js'
import type { GrantCatalog } from '../../grants/grant-catalog.js'
import type { GrantStore } from '../../grants/grant-store.js'
import type { Guardrails } from '../../grants/guardrails/guardrails.js'
import type { IdentityInventory } from '../../inventory/identity-inventory.js'
import type { LedgerVerifier } from '../../ledger/chain/ledger-verifier.js'
import type { LedgerStore } from '../../ledger/ledger-store.js'
import type { LeastPrivilegeReporter } from '../../reports/least-privilege-report.js'
import type { RegistrationStore } from '../../replay/registration-store.js'
import type { AdminTokenVerifier } from '../../admin-tokens/admin-token-verifier.js'
import type { RevocationCache } from '../../revocation/revocation-cache.js'
import type { RevocationService } from '../../revocation/revocation-service.js'
import type { SourceForm } from '../../attestors/source-forms.js'
import type { Clock } from '../../lib/clock.js'
import type { Drain } from '../../lib/drain.js'
import type { ReloadService } from '../../reload/reload-service.js'
import type { AdminRequestObserver, StreamObserver } from '../../observability/observers.js'
import type { KeyService } from '../../keys/key-service.js'
import type { BudgetCounter } from '../budget-counter.js'
import { adminTokenRoutes, type AdminTokenLifetime } from './admin-token-routes.js'
import { guardAdminScope } from './admin-scope.js'
import { auditRoutes } from './audit-routes.js'
import { grantRoutes } from './grant-routes.js'
import { identityRoutes } from './identity-routes.js'
import { keyRoutes } from './key-routes.js'
import { ledgerRoutes } from './ledger-routes.js'
import { registrationRoutes } from './registration-routes.js'
import { reportRoutes } from './report-routes.js'
import { reloadRoutes } from './reload-routes.js'
import { revocationRoutes } from './revocation-routes.js'
import { revocationStreamRoute } from './revocation-stream.js'
import { RevocationViews } from './revocation-views.js'
import { RevocationScope } from './team-scope-checks.js'
import type { SourceHasher } from '../../tokens/source-hash.js'

export interface AdminApiOptions {
  verifier: AdminTokenVerifier
  rateLimits: BudgetCounter
  /** Asked per request: a reload may change them. */
  limits: () => { adminRequestsPerMinute: number; adminAuthFailuresPerMinute: number }
  clock: Clock
  drain: Drain
  grants: GrantStore
  grantCatalog: GrantCatalog
  defaultGrantLifetimeDays: number
  /** The grant guardrails as now configured: a reload may change them. */
  guardrails: () => Guardrails
  ledger: LedgerStore
  /** Walks the ledger's hash chains (POST /v1/ledger:verify). */
  ledgerVerifier: Pick<LedgerVerifier, 'verify'>
  /** The inventory of identities rolled up from the ledger. */
  inventory: IdentityInventory
  /** Granted versus used. */
  leastPrivilege: LeastPrivilegeReporter
  revocationService: RevocationService
  revocations: RevocationCache
  /** The configured attestors' source forms, as now configured: a `source` revocation must be able to match one. */
  sourceForms: () => readonly SourceForm[]
  registrations: RegistrationStore
  audit: AuditLog
  adminTokens: AdminTokenStore
  /** How long admin tokens made through the API last: without `expiresAt`, and at most. */
  adminTokenLifetime: AdminTokenLifetime
  reloads: ReloadService
  /** Told of every answer, by route pattern and status (the metrics). */
  requests: AdminRequestObserver
  /** Told when a revocation stream opens and closes. */
  streams: StreamObserver
  keyService: KeyService
  /** Hashes source ids in the revocations the API answers with, as tokens carry them. */
  sourceHasher: SourceHasher
}

/**
 * The admin API (/v1/...): one scope, guarded once (authentication, roles, one request budget per
 * client address whichever route it calls, the failed-authentication budget); each route file
 * declares its routes and their roles. An open revocation stream is one request: it counts once.
 */
export async function adminApi(admin: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const { clock } = options
  // Every answer, refusals of the guard included; the pattern, never the URL, so ids make no new series.
  admin.addHook('onResponse', (request, reply, done) => {
    options.requests.answered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode)
    done()
  })
  guardAdminScope(admin, {
    verifier: options.verifier,
    counter: options.rateLimits,
    budget: { name: 'admin', perMinute: () => options.limits().adminRequestsPerMinute },
    authFailuresPerMinute: () => options.limits().adminAuthFailuresPerMinute,
  })
  await admin.register(grantRoutes, {
    store: options.grants,
    catalog: options.grantCatalog,
    clock,
    defaultLifetimeDays: options.defaultGrantLifetimeDays,
    guardrails: options.guardrails,
  })
  await admin.register(ledgerRoutes, { ledger: options.ledger, clock, verifier: options.ledgerVerifier })
  await admin.register(identityRoutes, { inventory: options.inventory })
  await admin.register(reportRoutes, { reporter: options.leastPrivilege })
  const views = new RevocationViews(options.sourceHasher)
  const teamScope = new RevocationScope(options.grants, options.ledger)
  await admin.register(revocationStreamRoute, {
    views,
    service: options.revocationService,
    cache: options.revocations,
    drain: options.drain,
    verifier: options.verifier,
    streams: options.streams,
    teamScope,
  })
  await admin.register(revocationRoutes, { service: options.revocationService, sourceForms: options.sourceForms, views, teamScope })
  await admin.register(registrationRoutes, { registrations: options.registrations, clock })
  await admin.register(auditRoutes, { audit: options.audit })
  await admin.register(adminTokenRoutes, { tokens: options.adminTokens, clock, lifetime: options.adminTokenLifetime })
  await admin.register(reloadRoutes, { reloads: options.reloads })
  await admin.register(keyRoutes, { keys: options.keyService })
}
