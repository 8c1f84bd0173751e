import type { FastifyInstance } from 'fastify'
import type { KeyService } from '../../keys/key-service.js'
import { revocationToJson } from '../../revocation/revocation.js'
import { actorOf } from './admin-scope.js'
import { KeyIdParams, keyOperations, KeyRevokeInput, type KeyRevoked, type KeyRotated, type KeysResealed } from './key-operations.js'
import { parseOrProblem } from './validation.js'

export interface KeyRoutesOptions {
  keys: KeyService
}

/** /v1/keys: the signing keys, their rotation, their emergency revocation, and their re-seal under a new key-encryption key. */
export async function keyRoutes(app: FastifyInstance, options: KeyRoutesOptions): Promise<void> {
  const { keys } = options
  const read = { role: 'keys:read' as const }
  const write = { role: 'keys:write' as const }

  app.get('/v1/keys', { config: read, schema: keyOperations.list }, async () => ({ keys: await keys.list() }))

  app.post('/v1/keys/rotate', { config: write, schema: keyOperations.rotate }, async (request, reply) => {
    const outcome = await keys.rotate(actorOf(request))
    request.log.warn({ kid: outcome.key.kid, alreadyPending: outcome.alreadyPending }, 'signing key rotation started')
    const body: KeyRotated = { key: keys.toJson(outcome.key), alreadyPending: outcome.alreadyPending }
    return reply.code(outcome.alreadyPending ? 200 : 201).send(body)
  })

  app.post('/v1/keys/reseal', { config: write, schema: keyOperations.reseal }, async (request) => {
    const outcome = await keys.reseal(actorOf(request))
    const body: KeysResealed = {
      kekId: outcome?.kekId ?? null,
      resealed: outcome?.resealed.length ?? 0,
      remaining: outcome?.remaining.length ?? 0,
      remainingKeys: (outcome?.remaining ?? []).map((key) => ({ kid: key.kid, kekId: key.kekId })),
    }
    request.log.warn({ kekId: body.kekId, resealed: body.resealed, remaining: body.remaining }, 'signing keys re-sealed on demand')
    return body
  })

  app.post('/v1/keys/:kid/revoke', { config: write, schema: keyOperations.revoke }, async (request, reply) => {
    const { kid } = parseOrProblem(KeyIdParams, request.params, 'path')
    const { reason } = parseOrProblem(KeyRevokeInput, request.body, 'key revocation')
    const outcome = await keys.revoke(kid, reason, actorOf(request))
    const { revocation } = outcome
    request.log.warn(
      { kid, replacement: outcome.replacement?.kid, liveTokensCutOff: revocation.liveTokensCutOff, alreadyRevoked: outcome.alreadyRevoked },
      outcome.alreadyRevoked ? 'signing key already revoked' : 'signing key revoked',
    )
    const body: KeyRevoked = {
      key: keys.toJson(outcome.key),
      alreadyRevoked: outcome.alreadyRevoked,
      ...(outcome.replacement ? { replacement: keys.toJson(outcome.replacement) } : {}),
      revocation: {
        revocation: revocationToJson(revocation.revocation),
        liveTokensCutOff: revocation.liveTokensCutOff,
        ...(revocation.liveTokensCutOffUnavailable === undefined
          ? {}
          : { liveTokensCutOffUnavailable: revocation.liveTokensCutOffUnavailable }),
        alreadyRevoked: revocation.alreadyRevoked,
      },
    }
    return reply.code(outcome.alreadyRevoked ? 200 : 201).send(body)
  })
}
