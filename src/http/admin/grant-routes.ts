import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { canonicalGitHubConditions, canonicalGitHubSubject } from '../../attestors/github/names.js'
import { InvalidInputError, NotFoundError, PreconditionFailedError, PreconditionRequiredError, RuleViolationError } from '../../errors.js'
import { GrantInput, GrantListQuery, GrantReplacement, grantToJson, type Grant } from '../../grants/grant.js'
import type { GrantCatalog } from '../../grants/grant-catalog.js'
import type { GrantDraft, GrantStore } from '../../grants/grant-store.js'
import type { GuardrailFinding, Guardrails } from '../../grants/guardrails/guardrails.js'
import type { Clock } from '../../lib/clock.js'
import { clipUntrusted } from '../../lib/untrusted-text.js'
import { actorOf } from './admin-scope.js'
import { validateGrantOperation } from './grant-guardrail-operations.js'
import { GrantIdParams, grantOperations } from './grant-operations.js'
import { requireOwnedGrant, scopeOf } from './team-scope-checks.js'
import { parseOrProblem } from './validation.js'

export interface GrantRoutesOptions {
  store: GrantStore
  catalog: GrantCatalog
  clock: Clock
  defaultLifetimeDays: number
  /** The guardrails as now configured (a reload may change them): every create and replace is held to them. */
  guardrails: () => Guardrails
}

/** The grants admin API: /v1/grants. */
export async function grantRoutes(app: FastifyInstance, options: GrantRoutesOptions): Promise<void> {
  const { store, catalog, clock } = options
  const read = { role: 'grants:read' as const }
  const write = { role: 'grants:write' as const }

  app.post('/v1/grants', { config: write, schema: grantOperations.create }, async (request, reply) => {
    const input = canonicalNames(parseOrProblem(GrantInput, request.body, 'grant'))
    requireOwnedGrant(request, input, 'the grant')
    const now = new Date(clock.now())
    const draft = newDraft(input, now, options.defaultLifetimeDays)
    const warnings = heldToGuardrails(options.guardrails(), draft, now)
    const grant = await store.create(draft, now, actorOf(request), { guardrailWarnings: warnings })
    await catalog.announceChange()
    request.log.info({ grantId: grant.id, subject: grant.subject, owner: grant.owner, warnings: rulesOf(warnings) }, 'grant created')
    return sendGrant(reply.code(201).header('location', `/v1/grants/${grant.id}`), grant, warnings)
  })

  // `::` is a literal colon: POST /v1/grants:validate.
  app.post('/v1/grants::validate', { config: write, schema: validateGrantOperation }, async (request) => {
    const input = canonicalNames(parseOrProblem(GrantInput, request.body, 'grant'))
    const now = new Date(clock.now())
    const { denied, warnings } = options.guardrails().check(newDraft(input, now, options.defaultLifetimeDays), now)
    return { allowed: denied.length === 0, denied, warnings }
  })

  app.get('/v1/grants', { config: read, schema: grantOperations.list }, async (request) => {
    const query = parseOrProblem(GrantListQuery, request.query, 'query')
    // A team's token lists its own grants: the others are left out, not refused.
    const scope = scopeOf(request)
    const page = await store.list(scope === null ? query : { ...query, owners: scope.owners, subjectPrefixes: scope.subjectPrefixes })
    return { grants: page.items.map(grantToJson), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/v1/grants/:id', { config: read, schema: grantOperations.read }, async (request, reply) => {
    const grant = await mustExist(store.get(idOf(request)), idOf(request))
    requireOwnedGrant(request, grant, `grant ${grant.id}`)
    return sendGrant(reply, grant)
  })

  app.put('/v1/grants/:id', { config: write, schema: grantOperations.replace }, async (request, reply) => {
    const id = idOf(request)
    const ifMatch = request.headers['if-match']
    if (ifMatch === undefined) {
      throw new PreconditionRequiredError(
        "send If-Match with the ETag of the grant you read, so no one else's change is lost",
        'if_match_required',
      )
    }
    const {
      id: bodyId,
      version: _version,
      createdAt: _createdAt,
      updatedAt: _updatedAt,
      warnings: _warnings,
      ...input
    } = canonicalNames(parseOrProblem(GrantReplacement, request.body, 'grant'))
    if (bodyId !== undefined && bodyId !== id) {
      throw new InvalidInputError('the body is another grant', [{ path: 'id', message: `must be ${id} or left out` }])
    }
    const current = await mustExist(store.get(id), id)
    // Both sides: a team can neither take over another's grant nor hand its own away (or widen it).
    requireOwnedGrant(request, current, `grant ${id}`)
    requireOwnedGrant(request, input, `grant ${id} as replaced`)
    if (!etagMatches(ifMatch, current.version)) {
      throw new PreconditionFailedError(
        `grant ${id} is at version ${current.version}, not the one in If-Match; read it again and retry`,
        'version_mismatch',
      )
    }
    const now = new Date(clock.now())
    // Left out by a client that predates them: the grant keeps what it had, never dropping the
    // requirement or the delegations.
    const draft = draftOf(
      {
        ...input,
        requireDpop: input.requireDpop ?? current.requireDpop,
        mayAct: input.mayAct ?? current.mayAct,
        expiresAt: new Date(input.expiresAt),
      },
      now,
    )
    const warnings = heldToGuardrails(options.guardrails(), draft, now)
    const result = await store.replace(id, draft, current.version, now, actorOf(request), { guardrailWarnings: warnings })
    if (result === 'conflict') {
      throw new PreconditionFailedError(`grant ${id} changed while it was being replaced; read it again and retry`, 'version_mismatch')
    }
    const grant = await mustExist(Promise.resolve(result), id)
    await catalog.announceChange()
    request.log.info({ grantId: id, version: grant.version, warnings: rulesOf(warnings) }, 'grant replaced')
    return sendGrant(reply, grant, warnings)
  })

  app.delete('/v1/grants/:id', { config: write, schema: grantOperations.disable }, async (request, reply) => {
    const id = idOf(request)
    if (scopeOf(request) !== null) requireOwnedGrant(request, await mustExist(store.get(id), id), `grant ${id}`)
    const grant = await mustExist(store.disable(id, new Date(clock.now()), actorOf(request)), id)
    await catalog.announceChange()
    request.log.info({ grantId: id }, 'grant disabled')
    return sendGrant(reply, grant)
  })
}

/** GitHub names in one spelling, the one the service mints (src/attestors/github-names.ts), in the subject and the actors alike. */
function canonicalNames<G extends { subject: string; conditions: Record<string, string | string[]>; mayAct?: string[] }>(grant: G): G {
  return {
    ...grant,
    subject: canonicalGitHubSubject(grant.subject),
    conditions: canonicalGitHubConditions(grant.subject, grant.conditions),
    // Two globs that differed only in case are one once lower-cased: kept once.
    ...(grant.mayAct === undefined ? {} : { mayAct: [...new Set(grant.mayAct.map(canonicalGitHubSubject))] }),
  }
}

function draftOf(draft: GrantDraft, now: Date): GrantDraft {
  if (draft.expiresAt.getTime() <= now.getTime()) {
    throw new InvalidInputError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }])
  }
  return draft
}

/** A grant to create: what was left out defaulted, its expiry in the future. */
function newDraft(input: GrantInput, now: Date, defaultLifetimeDays: number): GrantDraft {
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : new Date(now.getTime() + defaultLifetimeDays * 86_400_000)
  return draftOf({ ...input, expiresAt }, now)
}

/** Refuses a grant that breaks a rule configured to deny, naming every such rule; answers the rules that warn. */
function heldToGuardrails(guardrails: Guardrails, draft: GrantDraft, now: Date): GuardrailFinding[] {
  const { denied, warnings } = guardrails.check(draft, now)
  if (denied.length > 0) {
    throw new RuleViolationError(
      `the grant breaks ${denied.length === 1 ? 'a guardrail' : `${denied.length} guardrails`}: ${denied.map((d) => `${d.rule}: ${d.reason}`).join('; ')}`,
      denied,
    )
  }
  return warnings
}

function rulesOf(findings: GuardrailFinding[]): string[] | undefined {
  return findings.length === 0 ? undefined : findings.map((finding) => finding.rule)
}

function sendGrant(reply: FastifyReply, grant: Grant, warnings: GuardrailFinding[] = []): FastifyReply {
  return reply.header('etag', `"${grant.version}"`).send({ ...grantToJson(grant), ...(warnings.length > 0 ? { warnings } : {}) })
}

async function mustExist(lookup: Promise<Grant | undefined>, id: string): Promise<Grant> {
  const grant = await lookup
  if (!grant) throw new NotFoundError(`no grant with id ${clipUntrusted(id)}`, 'grant_not_found')
  return grant
}

function idOf(request: FastifyRequest): string {
  return parseOrProblem(GrantIdParams, request.params, 'path').id
}

/** RFC 9110 section 13.1.1: `*` or a list of entity tags, compared strongly (a weak tag never matches). */
function etagMatches(header: string, version: number): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim() === `"${version}"`)
}
