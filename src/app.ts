import { randomUUID } from 'node:crypto'
import rateLimitPlugin from '@fastify/rate-limit'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Services } from './compose.js'
import { RateLimitedError } from './errors.js'
import { adminApi } from './http/admin/admin-api.js'
import { consoleRoutes } from './http/console-routes.js'
import { guardAdminScope } from './http/admin/admin-scope.js'
import { discoveryRoutes } from './http/discovery-routes.js'
import { useOAuthErrors, useProblemErrors } from './http/error-handler.js'
import { registerDraining } from './http/draining.js'
import { decorateExchangeRecords } from './http/exchange-record.js'
import { metricsRoute } from './http/metrics-route.js'
import { registerFormBodyParser } from './http/form-body.js'
import { registerOverloadShedding } from './http/overload.js'
import { healthRoutes } from './http/health-routes.js'
import { introspectRoute } from './http/introspect-route.js'
import { registerApiDescription } from './http/openapi/api-description.js'
import { registerRequestLog } from './http/request-log.js'
import { revokeRoute } from './http/revoke-route.js'
import { tokenRoute } from './http/token-route.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
/** Marks a request id the client chose. */
export const CLIENT_REQUEST_ID_PREFIX = 'client:'

/** Builds the HTTP application around already-built services. Never listens: server.ts does. */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config, runtime } = services
  // What a reload may change is read from the runtime settings per request, never kept from here.
  const limits = () => runtime.current().limits
  const app: FastifyInstance = Fastify({
    // pino 10's Logger is a superset of what Fastify's types know of; without the assertion the app's
    // logger type is pino's, which its own instance type then refuses.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: services.logger as FastifyBaseLogger,
    bodyLimit: config.limits.maxBodyBytes,
    trustProxy: config.trustProxy,
    // Slow clients cannot hold a connection: the request (headers and body) must arrive in time. Node
    // applies these to receiving the request only, so a long response (the revocation stream) is not cut.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: config.http.headersTimeoutMs,
      // Node checks the two timeouts every 30 s by default: far too coarse for a 10 s bound.
      connectionsCheckingInterval: checkingInterval(config.http.requestTimeoutMs, config.http.headersTimeoutMs),
    },
    requestIdHeader: false,
    // The id on the ledger, the audit log and every log line. A client's own X-Request-Id is kept
    // (tracing across services needs it) but always marked `client:`, so it can never pass for, or
    // collide with, one we made (a bare UUID).
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? `${CLIENT_REQUEST_ID_PREFIX}${given}` : randomUUID()
    },
    // While draining, requests still in flight are answered by our handlers, and new ones are refused
    // in our own error formats (src/http/draining.ts), not Fastify's.
    return503OnClosing: false,
    // One line per request instead (src/http/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
  })
  registerRequestLog(app)
  decorateExchangeRecords(app)
  registerDraining(app, services.drain)
  // After the drain (a draining instance says so instead), before every route.
  await registerOverloadShedding(app, config.overload)
  // Before any route: each route's declared operation is recorded for openapi.yaml (`npm run openapi`).
  registerApiDescription(app)

  // Problem JSON (RFC 9457) unless a scope says otherwise: the OAuth scope below does.
  useProblemErrors(app)
  registerFormBodyParser(app)
  await app.register(rateLimitPlugin, {
    global: false,
    // The token endpoint's per-instance limit; the admin budgets are src/http/rate-limits.ts.
    // Our error handler renders the refusal in the endpoint's own error format.
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(`rate limit exceeded: retry in ${Math.ceil(context.ttl / 1000)} s`, 'rate_limited'),
  })

  await app.register(healthRoutes, {
    database: services.database,
    revocations: services.revocations,
    grants: services.grantCatalog,
    keys: services.keys,
  })
  // On the main port unless metrics.port gives them one of their own (server.ts listens there).
  if (services.scrape && config.metrics.port === undefined) await app.register(metricsRoute, { scrape: services.scrape })
  // Static files only: what it can do is what the admin token pasted into it may (README, Console).
  if (services.consoleFiles) await app.register(consoleRoutes, { files: services.consoleFiles, prefix: '/console' })
  await app.register(discoveryRoutes, {
    issuer: config.issuer,
    keys: services.keys,
    algorithm: config.keys.algorithm,
    jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds,
    subjectTokenTypes: () => runtime.current().attestors.subjectTokenTypes(),
    dpopAlgorithms: config.dpop.algorithms,
  })
  // The OAuth endpoints: RFC 6749 error bodies for their routes, and for any path under /oauth2 that
  // no route serves.
  await app.register(
    async (oauth) => {
      useOAuthErrors(oauth)
      await oauth.register(tokenRoute, {
        exchange: services.exchange,
        limits,
        observer: services.exchangeObserver,
        dpop: services.dpop.verifier,
        ...(services.dpop.nonces ? { dpopNonces: services.dpop.nonces } : {}),
      })
      // Unauthenticated like the token endpoint: the token revoked is its own proof.
      await oauth.register(revokeRoute, {
        holderRevocation: services.holderRevocation,
        endpoint: `${config.issuer}/oauth2/revoke`,
        limits,
      })
      // Introspection is guarded like the admin API, with its own, larger budget: resource servers
      // call it for every request they serve.
      await oauth.register(async (introspection) => {
        guardAdminScope(introspection, {
          verifier: services.adminTokenVerifier,
          counter: services.rateLimits,
          budget: { name: 'introspection', perMinute: () => limits().introspectionRequestsPerMinute },
          authFailuresPerMinute: () => limits().adminAuthFailuresPerMinute,
        })
        await introspection.register(introspectRoute, {
          introspection: services.introspection,
          ...(services.tracing ? { tracer: services.tracing.introspections } : {}),
        })
      })
    },
    { prefix: '/oauth2' },
  )
  await app.register(adminApi, {
    verifier: services.adminTokenVerifier,
    rateLimits: services.rateLimits,
    limits,
    clock: services.clock,
    drain: services.drain,
    grants: services.grants,
    grantCatalog: services.grantCatalog,
    defaultGrantLifetimeDays: config.grants.defaultLifetimeDays,
    ledger: services.ledger,
    ledgerVerifier: services.ledgerVerifier,
    inventory: services.inventory,
    leastPrivilege: services.leastPrivilege,
    revocationService: services.revocationService,
    revocations: services.revocations,
    sourceForms: () => runtime.current().sourceForms,
    guardrails: () => runtime.current().guardrails,
    registrations: services.registrations,
    audit: services.audit,
    adminTokens: services.adminTokens,
    adminTokenLifetime: { defaultDays: config.admin.tokenDefaultTtlDays, maxDays: config.admin.tokenMaxTtlDays },
    reloads: services.reloads,
    requests: services.metrics.admin,
    streams: services.metrics.streams,
    keyService: services.keyService,
    sourceHasher: services.sourceHasher,
  })
  return app
}

/** A quarter of the shorter timeout, between 100 ms and Node's default of 30 s. */
function checkingInterval(requestTimeoutMs: number, headersTimeoutMs: number): number {
  const shorter = requestTimeoutMs === 0 ? headersTimeoutMs : Math.min(requestTimeoutMs, headersTimeoutMs)
  return Math.min(30_000, Math.max(100, Math.floor(shorter / 4)))
}
