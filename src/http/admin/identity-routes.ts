import type { FastifyInstance } from 'fastify'
import { canonicalGitHubSource, canonicalGitHubSubject } from '../../attestors/github/names.js'
import { NotFoundError } from '../../errors.js'
import type { IdentityInventory } from '../../inventory/identity-inventory.js'
import {
  identityDetailToJson,
  identityFilterOf,
  IdentityListQuery,
  IdentityQuery,
  identityToJson,
} from '../../inventory/inventory-search.js'
import { setOutcome } from '../request-log.js'
import { identityOperations } from './identity-operations.js'
import { requireSubjectInScope, scopeOf } from './team-scope-checks.js'
import { parseOrProblem } from './validation.js'

export interface IdentityRoutesOptions {
  inventory: IdentityInventory
}

/**
 * The inventory of workload identities: /v1/identities, and /v1/identity for one. Read with the
 * ledger's role: it is the ledger rolled up.
 */
export async function identityRoutes(app: FastifyInstance, options: IdentityRoutesOptions): Promise<void> {
  const { inventory } = options
  const read = { role: 'ledger:read' as const }

  app.get('/v1/identities', { config: read, schema: identityOperations.list }, async (request) => {
    const parsed = parseOrProblem(IdentityListQuery, request.query, 'query')
    // GitHub names in the spelling the service mints them in, as the ledger's search does.
    const query = {
      ...parsed,
      ...(parsed.subject === undefined ? {} : { subject: canonicalGitHubSubject(parsed.subject) }),
      ...(parsed.source === undefined ? {} : { source: canonicalGitHubSource(parsed.source) }),
    }
    const scope = scopeOf(request)
    const filter = identityFilterOf(query)
    // A team's token sees only its own identities, as in the ledger.
    const page = await inventory.list(scope === null ? filter : { ...filter, subjectPrefixes: scope.subjectPrefixes })
    const { cursor: _cursor, ...searched } = query
    setOutcome(request, { msg: 'identities listed', query: searched, identities: page.items.length })
    return { identities: page.items.map(identityToJson), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/v1/identity', { config: read, schema: identityOperations.read }, async (request) => {
    const { subject: asked } = parseOrProblem(IdentityQuery, request.query, 'query')
    const subject = canonicalGitHubSubject(asked)
    requireSubjectInScope(request, subject, 'the identity')
    // Whom it acted for may be other teams' identities: a team's token sees its own only.
    const identity = await inventory.get(subject, scopeOf(request)?.subjectPrefixes)
    if (!identity) throw new NotFoundError(`no token was issued to ${subject}`, 'identity_not_found')
    return { identity: identityDetailToJson(identity) }
  })
}
