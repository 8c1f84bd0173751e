import type { FastifyInstance } from 'fastify'
import { NotFoundError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import { clipUntrusted } from '../../lib/untrusted-text.js'
import type { RegistrationStore } from '../../replay/registration-store.js'
import { ForgetInput, RegistrationListQuery, registrationToJson } from '../../replay/registration.js'
import { actorOf } from './admin-scope.js'
import { RegistrationParams, registrationOperations } from './registration-operations.js'
import { parseOrProblem } from './validation.js'

export interface RegistrationRoutesOptions {
  registrations: RegistrationStore
  clock: Clock
}

/**
 * The instance registration admin API: /v1/registrations. Forgetting a registration lets the instance
 * register afresh, with a new nonce, at its next attestation: the way back for an instance that lost
 * its nonce, and the way in for whoever holds a copy of its document, so it says why on the audit log.
 */
export async function registrationRoutes(app: FastifyInstance, options: RegistrationRoutesOptions): Promise<void> {
  const { registrations } = options
  const read = { role: 'registrations:read' as const }
  const write = { role: 'registrations:write' as const }

  app.get('/v1/registrations', { config: read, schema: registrationOperations.list }, async (request) => {
    const query = parseOrProblem(RegistrationListQuery, request.query, 'query')
    const page = await registrations.list({
      attestor: query.attestor,
      instance: query.instance,
      lastSeenBefore: query.lastSeenBefore === undefined ? undefined : new Date(query.lastSeenBefore),
      lastSeenAfter: query.lastSeenAfter === undefined ? undefined : new Date(query.lastSeenAfter),
      cursor: query.cursor,
      limit: query.limit,
    })
    return { registrations: page.items.map(registrationToJson), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/v1/registrations/:attestor/:instance', { config: read, schema: registrationOperations.read }, async (request) => {
    const { attestor, instance } = RegistrationParams.parse(request.params)
    const registration = await registrations.get(attestor, instance)
    if (!registration) throw notFound(attestor, instance)
    return { registration: registrationToJson(registration) }
  })

  app.delete('/v1/registrations/:attestor/:instance', { config: write, schema: registrationOperations.forget }, async (request) => {
    const { attestor, instance } = RegistrationParams.parse(request.params)
    const { reason } = parseOrProblem(ForgetInput, request.body, 'request')
    const forgotten = await registrations.forget(attestor, instance, reason, new Date(options.clock.now()), actorOf(request))
    if (!forgotten) throw notFound(attestor, instance)
    request.log.warn({ attestor, instance }, 'instance registration forgotten: the instance registers afresh at its next attestation')
    return { registration: registrationToJson(forgotten) }
  })
}

function notFound(attestor: string, instance: string): NotFoundError {
  return new NotFoundError(
    `no registration of instance ${clipUntrusted(instance, 128)} with attestor ${clipUntrusted(attestor)}`,
    'registration_not_found',
  )
}
