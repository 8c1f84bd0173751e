import type { FastifyInstance } from 'fastify'
import { ForbiddenError } from '../../errors.js'
import type { LedgerVerifier } from '../../ledger/chain/ledger-verifier.js'
import { parseKnownHead, type KnownHead } from '../../ledger/chain/verification.js'
import { canonicalGitHubSource, canonicalGitHubSubject } from '../../attestors/github/names.js'
import { ledgerEntryToJson, ledgerFilterOf, LedgerSearchQuery } from '../../ledger/ledger-search.js'
import type { LedgerStore } from '../../ledger/ledger-store.js'
import type { Clock } from '../../lib/clock.js'
import { setOutcome } from '../request-log.js'
import { ledgerOperations } from './ledger-operations.js'
import { LedgerVerifyRequest, verifyLedgerOperation } from './ledger-verify-operations.js'
import { scopeOf } from './team-scope-checks.js'
import { parseOrProblem } from './validation.js'

export interface LedgerRoutesOptions {
  ledger: LedgerStore
  clock: Clock
  verifier: Pick<LedgerVerifier, 'verify'>
}

/** The incident view of the ledger: /v1/ledger. Who got which token, when, from which attestation. */
export async function ledgerRoutes(app: FastifyInstance, options: LedgerRoutesOptions): Promise<void> {
  const { ledger, clock, verifier } = options
  app.get('/v1/ledger', { config: { role: 'ledger:read' }, schema: ledgerOperations.search }, async (request) => {
    const parsed = parseOrProblem(LedgerSearchQuery, request.query, 'query')
    // GitHub names in the spelling the service mints them in (src/attestors/github-names.ts).
    const query = {
      ...parsed,
      ...(parsed.subject === undefined ? {} : { subject: canonicalGitHubSubject(parsed.subject) }),
      ...(parsed.source === undefined ? {} : { source: canonicalGitHubSource(parsed.source) }),
      ...(parsed.actor === undefined ? {} : { actor: canonicalGitHubSubject(parsed.actor) }),
    }
    const now = new Date(clock.now())
    // A team's token sees the tokens of its identities only, filtered by the store (no other team's row is read out).
    const scope = scopeOf(request)
    const filter = ledgerFilterOf(query)
    const page = await ledger.search(scope === null ? filter : { ...filter, subjectPrefixes: scope.subjectPrefixes }, now)
    // The request log leaves out query strings; who looked for what during an incident is worth keeping.
    const { cursor: _cursor, ...searched } = query
    setOutcome(request, { msg: 'ledger searched', query: searched, entries: page.items.length })
    return {
      entries: page.items.map((entry) => ledgerEntryToJson(entry, now)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    }
  })

  app.post('/v1/ledger::verify', { config: { role: 'ledger:read' }, schema: verifyLedgerOperation }, async (request) => {
    // The walk reads every identity's rows, and its findings name them: not a team's to see.
    const scope = scopeOf(request)
    if (scope !== null) {
      throw new ForbiddenError(
        `the admin token ${request.admin?.name ?? 'unknown'} acts for a team: verifying the ledger walks every identity's tokens, which needs an admin token without a scope`,
        'out_of_team_scope',
      )
    }
    const body = parseOrProblem(LedgerVerifyRequest, request.body ?? {}, 'body')
    const heads = (body.heads ?? []).map(parseKnownHead).filter((head): head is KnownHead => head !== undefined)
    const verification = await verifier.verify({
      ...(body.since === undefined ? {} : { since: new Date(body.since) }),
      ...(body.until === undefined ? {} : { until: new Date(body.until) }),
      heads,
    })
    setOutcome(request, {
      msg: 'ledger verified',
      intact: verification.intact,
      findings: verification.findingCount,
      checked: verification.checked,
    })
    return verification
  })
}
