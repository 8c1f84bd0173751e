import { randomUUID } from 'node:crypto'
import rateLimitPlugin from '@fastify/rate-limit'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { sourceFormsOf } from './attestors/source-forms.js'
import type { Services } from './compose.js'
import { RateLimitedError } from './errors.js'
import { actorOf, adminAuthenticator } from './http/admin/admin-auth.js'
import { adminTokenRoutes } from './http/admin/admin-token-routes.js'
import { auditRoutes } from './http/admin/audit-routes.js'
import { grantRoutes } from './http/admin/grant-routes.js'
import { revocationRoutes } from './http/admin/revocation-routes.js'
import { revocationStreamRoute } from './http/admin/revocation-stream.js'
import { ledgerRoutes } from './http/admin/ledger-routes.js'
import { registrationRoutes } from './http/admin/registration-routes.js'
import { discoveryRoutes } from './http/discovery-routes.js'
import { useOAuthErrors, useProblemErrors } from './http/error-handler.js'
import { registerDraining } from './http/draining.js'
import { registerFormBodyParser } from './http/form-body.js'
import { healthRoutes } from './http/health-routes.js'
import { introspectRoute } from './http/introspect-route.js'
import { TokenIntrospection } from './tokens/introspection.js'
import { registerRequestLog } from './http/request-log.js'
import { authFailureBudget, requestBudget } from './http/rate-limits.js'
import { tokenRoute } from './http/token-route.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
/** Marks a request id the client chose. */
export const CLIENT_REQUEST_ID_PREFIX = 'client:'

/** Builds the HTTP application around already-built services. Never listens: server.ts does. */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config } = services
  const app: FastifyInstance = Fastify({
    // pino 10's Logger is a superset of what Fastify's types know of.
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
  registerDraining(app, services.drain)

  // Problem JSON (RFC 9457) unless a scope says otherwise: the OAuth scope below does.
  useProblemErrors(app)
  registerFormBodyParser(app)
  await app.register(rateLimitPlugin, {
    global: false,
    // The token endpoint's per-instance limit; the admin budgets are src/http/rate-limits.ts.
    // Our error handler renders the refusal in the endpoint's own error format.
    errorResponseBuilder: (_request, context) => new RateLimitedError(`rate limit exceeded: retry in ${Math.ceil(context.ttl / 1000)} s`, 'rate_limited'),
  })

  await app.register(healthRoutes, { database: services.database, revocations: services.revocations })
  await app.register(discoveryRoutes, { issuer: config.issuer, keys: services.keys, subjectTokenTypes: services.attestors.subjectTokenTypes() })
  app.decorateRequest('admin', null)
  const authenticate = adminAuthenticator({ bootstrapToken: config.admin.token, tokens: services.adminTokens, clock: services.clock })
  // Failed authentications are counted once per address, whichever admin route or introspection saw them.
  const failures = authFailureBudget(services.rateLimits, config.limits.adminAuthFailuresPerMinute)
  const budgeted = (scope: FastifyInstance, requests: ReturnType<typeof requestBudget>) => {
    // onRequest: before the token is looked at, so failed guesses are counted and refused too.
    if (failures) scope.addHook('onRequest', failures.check)
    if (requests) scope.addHook('onRequest', requests)
    if (failures) scope.addHook('onResponse', failures.count)
  }

  // The admin API is one scope with one request budget per client address, whichever route it calls
  // (an open revocation stream is one request: it counts once).
  await app.register(async (admin) => {
    budgeted(admin, requestBudget(services.rateLimits, 'admin', config.limits.adminRequestsPerMinute))
    const routeConfig = {}
    await admin.register(grantRoutes, {
      store: services.grants,
      catalog: services.grantCatalog,
      clock: services.clock,
      defaultLifetimeDays: config.grants.defaultLifetimeDays,
      authenticate,
      routeConfig,
    })
    await admin.register(ledgerRoutes, { ledger: services.ledger, clock: services.clock, authenticate, routeConfig })
    await admin.register(revocationStreamRoute, { service: services.revocationService, cache: services.revocations, drain: services.drain, authenticate, routeConfig })
    await admin.register(revocationRoutes, { service: services.revocationService, authenticate, actorOf, sourceForms: sourceFormsOf(config.attestors), routeConfig })
    await admin.register(registrationRoutes, { registrations: services.registrations, clock: services.clock, authenticate, actorOf, routeConfig })
    await admin.register(auditRoutes, { audit: services.audit, authenticate, routeConfig })
    await admin.register(adminTokenRoutes, { tokens: services.adminTokens, clock: services.clock, authenticate, routeConfig })
  })
  // The OAuth endpoints: RFC 6749 error bodies for their routes, and for any path under /oauth2 that
  // no route serves.
  await app.register(
    async (oauth) => {
      useOAuthErrors(oauth)
      await oauth.register(tokenRoute, {
        exchange: services.exchange,
        maxAttestationBytes: config.limits.maxAttestationBytes,
        requestsPerMinute: config.limits.tokenRequestsPerMinute,
      })
      // Introspection has its own, larger budget: resource servers call it for every request they serve.
      await oauth.register(async (scope) => {
        budgeted(scope, requestBudget(services.rateLimits, 'introspection', config.limits.introspectionRequestsPerMinute))
        await scope.register(introspectRoute, {
          introspection: new TokenIntrospection(config.issuer, services.keys, services.ledger, services.revocations, services.clock, services.logger),
          authenticate,
          routeConfig: {},
        })
      })
    },
    { prefix: '/oauth2' },
  )
  return app
}

/** A quarter of the shorter timeout, between 100 ms and Node's default of 30 s. */
function checkingInterval(requestTimeoutMs: number, headersTimeoutMs: number): number {
  const shorter = requestTimeoutMs === 0 ? headersTimeoutMs : Math.min(requestTimeoutMs, headersTimeoutMs)
  return Math.min(30_000, Math.max(100, Math.floor(shorter / 4)))
}
