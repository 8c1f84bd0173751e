import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { NotFoundProblem, PreconditionFailedProblem, PreconditionRequiredProblem, ValidationProblem } from '../../errors.js'
import { GrantInput, GrantListQuery, grantToJson, type Grant } from '../../grants/grant.js'
import type { GrantCatalog } from '../../grants/grant-catalog.js'
import type { GrantDraft, GrantStore } from '../../grants/grant-store.js'
import type { Clock } from '../../lib/clock.js'
import { parseOrProblem } from './validation.js'

export interface GrantRoutesOptions {
  store: GrantStore
  catalog: GrantCatalog
  clock: Clock
  defaultLifetimeDays: number
  authenticate: (request: FastifyRequest) => Promise<void>
}

const IdParams = z.object({ id: z.string() })

/** The grants admin API: /v1/grants. */
export async function grantRoutes(app: FastifyInstance, options: GrantRoutesOptions): Promise<void> {
  const { store, catalog, clock } = options
  app.addHook('onRequest', options.authenticate)

  app.post('/v1/grants', async (request, reply) => {
    const input = parseOrProblem(GrantInput, request.body, 'grant')
    const now = new Date(clock.now())
    const grant = await store.create(draftOf(input, now, options.defaultLifetimeDays), now)
    catalog.invalidate()
    request.log.info({ grantId: grant.id, subject: grant.subject, owner: grant.owner }, 'grant created')
    return sendGrant(reply.code(201).header('location', `/v1/grants/${grant.id}`), grant)
  })

  app.get('/v1/grants', async (request) => {
    const query = parseOrProblem(GrantListQuery, request.query, 'query')
    const page = await store.list(query)
    return { grants: page.grants.map(grantToJson), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/v1/grants/:id', async (request, reply) => {
    return sendGrant(reply, await mustExist(store.get(idOf(request)), idOf(request)))
  })

  app.put('/v1/grants/:id', async (request, reply) => {
    const id = idOf(request)
    const expectedVersion = versionFromIfMatch(request.headers['if-match'])
    const input = parseOrProblem(GrantInput, request.body, 'grant')
    const current = await mustExist(store.get(id), id)
    const now = new Date(clock.now())
    const draft = draftOf(input, now, options.defaultLifetimeDays, current.expiresAt)
    const result = await store.replace(id, draft, expectedVersion, now)
    if (result === 'conflict') {
      throw new PreconditionFailedProblem(`grant ${id} has changed since version ${expectedVersion}; read it again and retry`)
    }
    const grant = await mustExist(Promise.resolve(result), id)
    catalog.invalidate()
    request.log.info({ grantId: id, version: grant.version }, 'grant replaced')
    return sendGrant(reply, grant)
  })

  app.delete('/v1/grants/:id', async (request, reply) => {
    const id = idOf(request)
    const grant = await mustExist(store.disable(id, new Date(clock.now())), id)
    catalog.invalidate()
    request.log.info({ grantId: id }, 'grant disabled')
    return sendGrant(reply, grant)
  })
}

function draftOf(input: GrantInput, now: Date, defaultLifetimeDays: number, keepExpiresAt?: Date): GrantDraft {
  const expiresAt = input.expiresAt
    ? new Date(input.expiresAt)
    : (keepExpiresAt ?? new Date(now.getTime() + defaultLifetimeDays * 86_400_000))
  if (expiresAt.getTime() <= now.getTime()) {
    throw new ValidationProblem('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }])
  }
  return { ...input, expiresAt }
}

function sendGrant(reply: FastifyReply, grant: Grant): FastifyReply {
  return reply.header('etag', `"${grant.version}"`).send(grantToJson(grant))
}

async function mustExist(lookup: Promise<Grant | undefined>, id: string): Promise<Grant> {
  const grant = await lookup
  if (!grant) throw new NotFoundProblem(`no grant with id ${id.slice(0, 64)}`)
  return grant
}

function idOf(request: FastifyRequest): string {
  return IdParams.parse(request.params).id
}

function versionFromIfMatch(header: string | undefined): number {
  if (header === undefined) throw new PreconditionRequiredProblem('send If-Match with the ETag of the grant you read, so no one else\'s change is lost')
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(header.trim())
  if (!match) throw new PreconditionFailedProblem('If-Match must be an ETag this API handed out, such as "3"')
  return Number(match[1])
}
