import { z } from 'zod'
import { SubjectGlob } from '../ledger/ledger-search.js'
import { Uuid } from '../lib/ids.js'
import type { PageRequest } from '../lib/page.js'
import { prose } from '../lib/prose.js'
import {
  INVENTORY_DAILY_RETENTION_DAYS,
  MAX_DELEGATIONS_SHOWN,
  MAX_IDENTITY_PAGE,
  type DelegationUse,
  type Identity,
  type IdentityAccess,
  type IdentityDetail,
  type IdentityFilter,
} from './identity-inventory.js'
import { MAX_IDENTITY_SOURCES } from './identity-rollup.js'

/**
 * GET /v1/identities and GET /v1/identity: the inventory's queries, and what an identity looks like
 * on the wire. The one source for the handlers' validation, their types and the API description.
 */

const Instant = z.iso.datetime({ offset: true })

export const IdentityListQuery = z
  .object({
    subject: SubjectGlob.optional(),
    attestor: z.string().min(1).max(256).optional().describe('Only identities whose latest token came through this attestor (its name).'),
    source: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        `Only identities with this source among their ${MAX_IDENTITY_SOURCES} most recent, such as \`k8s:prod:node:node-a\` ` +
          "(GitHub names of `github:...` are lower-cased first, as with `subject`'s `spiffe://<td>/github/...`).",
      ),
    lastSeenBefore: Instant.optional().describe('Only identities last seen before this instant (RFC 3339): candidates for offboarding.'),
    lastSeenAfter: Instant.optional().describe('Only identities last seen at or after this instant (RFC 3339).'),
    cursor: z
      .string()
      .max(1024)
      .optional()
      .describe('The `nextCursor` of the previous page. Opaque; one not handed out by this API is a 400.'),
    limit: z.coerce.number().int().min(1).max(MAX_IDENTITY_PAGE).default(100).describe('Page size.'),
  })
  .strict()
export type IdentityListQuery = z.infer<typeof IdentityListQuery>

export const IdentityQuery = z
  .object({
    subject: z
      .string()
      .max(512)
      .regex(
        /^spiffe:\/\/[\x21-\x2E\x30-\x7E]+\/[\x21-\x7E]*$/,
        'must be a SPIFFE ID, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/api',
      )
      .describe('The identity, its exact SPIFFE ID (in the query: SPIFFE IDs hold slashes, which a path segment would have to escape).'),
  })
  .strict()
export type IdentityQuery = z.infer<typeof IdentityQuery>

/** The store's filter for a validated query. */
export function identityFilterOf(query: IdentityListQuery): IdentityFilter & PageRequest {
  return {
    subject: query.subject,
    attestor: query.attestor,
    source: query.source,
    lastSeenBefore: query.lastSeenBefore === undefined ? undefined : new Date(query.lastSeenBefore),
    lastSeenAfter: query.lastSeenAfter === undefined ? undefined : new Date(query.lastSeenAfter),
    cursor: query.cursor,
    limit: query.limit,
  }
}

const UseJson = { firstUsed: z.iso.datetime(), lastUsed: z.iso.datetime() }

const ScopeUseJson = z.object({ scope: z.string(), ...UseJson }).strict()

const AudienceUseJson = z
  .object({
    audience: z.string(),
    ...UseJson,
    scopes: z.array(ScopeUseJson).describe('The scopes obtained for this audience, each with when it was first and last in a token.'),
  })
  .strict()

const GrantUseJson = z
  .object({
    grantId: Uuid,
    ...UseJson,
    audiences: z.array(AudienceUseJson).describe('What the identity obtained through this grant.'),
  })
  .strict()

export const IdentityJson = z
  .object({
    subject: z.string().describe('The workload identity, as in its tokens’ `sub`.'),
    attestor: z.string().describe("The configured attestor that verified the identity's latest attestation."),
    attestorKind: z.string().meta({ examples: ['kubernetes'] }),
    sources: z.array(z.string()).describe(prose`
      Where its attestations came from: the ${MAX_IDENTITY_SOURCES} most recent sources, newest first
      (the order is brought up to date when a new source is seen).
    `),
    firstSeen: z.iso.datetime().describe('When it got its first token (since the inventory began, at the upgrade that added it).'),
    lastSeen: z.iso.datetime().describe('When it got its latest token.'),
    audiences: z.array(AudienceUseJson).describe('The audiences and scopes it obtained, through any grant.'),
    grants: z.array(GrantUseJson).describe('The grants that served it, and what each gave it.'),
  })
  .strict()
  .meta({ id: 'Identity', description: 'A workload identity that has been issued tokens, from the roll-ups of the ledger.' })
export type IdentityJson = z.infer<typeof IdentityJson>

const DelegationUseJson = {
  tokens: z.number().int().describe('How many tokens.'),
  firstSeen: z.iso.datetime().describe('When the first of them was issued.'),
  lastSeen: z.iso.datetime().describe('When the latest of them was issued.'),
}

export const IdentityDetailJson = IdentityJson.extend({
  dailyTokens: z
    .array(z.object({ day: z.iso.date(), tokens: z.number().int() }).strict())
    .describe(`Tokens issued per UTC day, oldest first, days without any left out; kept ${INVENTORY_DAILY_RETENTION_DAYS} days.`),
  delegations: z.array(z.object({ actor: z.string().describe('The SPIFFE ID of the actor.'), ...DelegationUseJson }).strict())
    .describe(prose`
      Who acted for this identity: the tokens issued to it with each workload or agent as the
      current actor (the token's \`act.sub\`), the most recently seen first, at most
      ${MAX_DELEGATIONS_SHOWN}. Empty when nobody did.
    `),
  actedFor: z.array(z.object({ subject: z.string().describe('The SPIFFE ID acted for.'), ...DelegationUseJson }).strict()).describe(prose`
      Whom this identity acted for, as the current actor of their tokens, the most recently seen
      first, at most ${MAX_DELEGATIONS_SHOWN}; to a team's admin token, only the team's identities.
    `),
})
  .strict()
  .meta({ id: 'IdentityDetail', description: 'One identity, with its daily token counts and its delegations.' })
export type IdentityDetailJson = z.infer<typeof IdentityDetailJson>

export function identityToJson(identity: Identity): IdentityJson {
  return {
    subject: identity.subject,
    attestor: identity.attestor,
    attestorKind: identity.attestorKind,
    sources: identity.sources,
    firstSeen: identity.firstSeen.toISOString(),
    lastSeen: identity.lastSeen.toISOString(),
    audiences: audiencesOf(identity.access),
    grants: groupBy(identity.access, (row) => row.grantId).map(([grantId, rows]) => ({
      grantId,
      ...useOf(rows),
      audiences: audiencesOf(rows),
    })),
  }
}

export function identityDetailToJson(identity: IdentityDetail): IdentityDetailJson {
  return {
    ...identityToJson(identity),
    dailyTokens: identity.dailyTokens,
    delegations: identity.delegations.map(({ actor, ...use }) => ({ actor, ...useJson(use) })),
    actedFor: identity.actedFor.map(({ subject, ...use }) => ({ subject, ...useJson(use) })),
  }
}

function useJson(use: DelegationUse): { tokens: number; firstSeen: string; lastSeen: string } {
  return { tokens: use.tokens, firstSeen: use.firstSeen.toISOString(), lastSeen: use.lastSeen.toISOString() }
}

/** Access rows (any grants) as audiences, each with its scopes; in audience then scope order. */
function audiencesOf(rows: readonly IdentityAccess[]): z.infer<typeof AudienceUseJson>[] {
  const sorted = [...rows].sort((a, b) => {
    const byAudience = compare(a.audience, b.audience)
    return byAudience !== 0 ? byAudience : compare(a.scope ?? '', b.scope ?? '')
  })
  return groupBy(sorted, (row) => row.audience).map(([audience, forAudience]) => ({
    audience,
    ...useOf(forAudience),
    scopes: groupBy(
      forAudience.filter((row) => row.scope !== undefined),
      (row) => row.scope ?? '',
    ).map(([scope, forScope]) => ({ scope, ...useOf(forScope) })),
  }))
}

/** The earliest first use and the latest last use of `rows` (never empty). */
function useOf(rows: readonly IdentityAccess[]): { firstUsed: string; lastUsed: string } {
  const first = Math.min(...rows.map((row) => row.firstUsed.getTime()))
  const last = Math.max(...rows.map((row) => row.lastUsed.getTime()))
  return { firstUsed: new Date(first).toISOString(), lastUsed: new Date(last).toISOString() }
}

/** Groups in the order keys first appear. */
function groupBy<T>(rows: readonly T[], key: (row: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>()
  for (const row of rows) {
    const group = groups.get(key(row))
    if (group === undefined) groups.set(key(row), [row])
    else group.push(row)
  }
  return [...groups]
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
