import { z } from 'zod'
import type { PageRequest } from '../lib/page.js'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'
import type { LedgerEntry, LedgerFilter } from './ledger-store.js'

/**
 * GET /v1/ledger: the incident view's query, and what one entry looks like on the wire. The one
 * source for the handler's validation, its types and the API description.
 */

const Instant = z.iso.datetime({ offset: true })
const Period = z.object({ since: Instant.optional(), until: Instant.optional() })

/**
 * A SPIFFE ID or a glob of them, as a query parameter (the ledger's and the inventory's `subject`).
 * Printable ASCII only: SPIFFE IDs are, and it keeps `?` meaning one character in both the
 * JavaScript and the Postgres regex (they count characters outside the BMP differently).
 */
export const SubjectGlob = z
  .string()
  .max(512)
  .regex(
    /^spiffe:\/\/[\x21-\x2E\x30-\x7E]+\/[\x21-\x7E]*$/,
    'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*',
  ).describe(prose`
        A SPIFFE ID, or a glob of them with the syntax of a grant's \`subject\` (\`*\` within a path
        segment, \`**\` across segments, \`?\` one character; the whole ID must match). Printable
        ASCII only.
      `)

/** One SPIFFE ID, exactly, as a query parameter: the same characters as SubjectGlob, its wildcards taken literally. */
export const SpiffeIdParam = z
  .string()
  .max(512)
  .regex(/^spiffe:\/\/[\x21-\x2E\x30-\x7E]+\/[\x21-\x7E]*$/, 'must be a SPIFFE ID, e.g. spiffe://example.org/agents/summarizer')

export const LedgerSearchQuery = z
  .object({
    subject: SubjectGlob.optional(),
    grant: z.uuid('must be a grant id (a UUID)').optional().describe('Only tokens this grant contributed to (among others).'),
    source: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'Only tokens whose attestation came from this source, such as `k8s:prod:node:node-a` ' +
          "(GitHub names of `github:...` are lower-cased first, as with `subject`'s `spiffe://<td>/github/...`).",
      ),
    audience: z.string().min(1).max(512).optional().describe('Only tokens for this audience, compared exactly.'),
    since: Instant.optional().describe('Only tokens issued at or after this instant (RFC 3339).'),
    until: Instant.optional().describe('Only tokens issued before this instant (RFC 3339); must be after `since`.'),
    live: z.enum(['true', 'false']).optional().describe('`true`: only tokens not expired yet; `false`: only expired ones.'),
    actor: SpiffeIdParam.optional().describe(prose`
      Only tokens whose actor chain (\`actors\`) holds this exact SPIFFE ID, as the current actor or
      further down: what an agent or workload obtained on anyone's behalf. No index serves it (each
      would cost every ledger row): it narrows what the other filters select, and alone reads the
      ledger newest first until a page is found, so combine it with \`since\` or \`live=true\`.
    `),
    cursor: z
      .string()
      .max(512)
      .optional()
      .describe('The `nextCursor` of the previous page. Opaque; one not handed out by this API is a 400.'),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('Page size.'),
  })
  .strict()
  .refine((q) => q.since === undefined || q.until === undefined || Date.parse(q.until) > Date.parse(q.since), {
    path: ['until'],
    message: 'must be after since',
    // Also when other parameters are wrong, so every problem is reported at once.
    when: ({ value }) => Period.safeParse(value).success,
  })

export type LedgerSearchQuery = z.infer<typeof LedgerSearchQuery>

/** The store's filter for a validated query. */
export function ledgerFilterOf(query: LedgerSearchQuery): LedgerFilter & PageRequest {
  return {
    subject: query.subject,
    grant: query.grant,
    source: query.source,
    audience: query.audience,
    since: query.since === undefined ? undefined : new Date(query.since),
    until: query.until === undefined ? undefined : new Date(query.until),
    live: query.live === undefined ? undefined : query.live === 'true',
    actor: query.actor,
    cursor: query.cursor,
    limit: query.limit,
  }
}

/** What a ledger entry looks like on the wire. */
export const LedgerEntryJson = z
  .object({
    jti: Uuid.describe("The token's `jti`: revoke the token with it."),
    subject: z.string().describe("The workload identity, the token's `sub`."),
    attestor: z.string().describe('The name of the configured attestor that verified the attestation.'),
    attestorKind: z.string().meta({ examples: ['kubernetes'] }),
    attestationFingerprint: z
      .string()
      .describe(
        "SHA-256 of what the attestation's issuer signed (a JWT's header and payload, an AWS document, Azure attested content), " +
          'base64url: the tokens one attestation got share it, however it was spelled.',
      ),
    sources: z
      .array(z.string())
      .describe('Where the attestation came from, broadest first, such as `k8s:prod`, `k8s:prod:node:node-a`, `k8s:prod:pod:<pod uid>`.'),
    audience: z.string(),
    scopes: z.array(z.string()),
    grantIds: z.array(Uuid).describe('The grants that allowed the token.'),
    issuedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    clientAddress: z.string().nullable().describe('The address the request came from (see `trustProxy`).'),
    requestId: z.string().nullable().describe('The `X-Request-Id` of the token request.'),
    kid: z.string().optional().describe('The signing key of the token; absent for tokens issued before keys were kept in the database.'),
    parentJti: Uuid.optional().describe(prose`
      The \`jti\` of our own token this one was exchanged from (its \`subject_token\`): a narrower
      token, or one delegated from it. Revoking that token revokes this one. Absent for a token
      exchanged from an attestation.
    `),
    ancestorJtis: z.array(Uuid).optional().describe(prose`
      Every token of ours this one derives from, directly or not, as its \`ancestor_jtis\` claim:
      revoking any of them revokes this one. Absent when there are none.
    `),
    actors: z.array(z.string()).optional().describe(prose`
      The delegation chain, the current actor first (the token's \`act\` claim, outermost first).
      Absent when the token was issued to its subject itself.
    `),
    actorSources: z.array(z.string()).optional().describe(prose`
      The attestation sources of the actors (where they run), kept apart from \`sources\` (the
      subject's): a \`source\` revocation of one revokes the token too. Absent when nobody acts.
    `),
    actorGrantIds: z.array(Uuid).optional().describe(prose`
      The grants of the actors' own tokens it was got with, kept apart from \`grantIds\` (the
      subject's grants): a \`grant\` revocation of one revokes the token too. Absent when no actor
      presented a token of ours.
    `),
    live: z.boolean().describe('Not expired yet, as of this answer.'),
  })
  .strict()
  .meta({ id: 'LedgerEntry', description: 'One issued token, as recorded before it was returned. The token itself is never stored.' })
export type LedgerEntryJson = z.infer<typeof LedgerEntryJson>

/** A ledger entry on the wire; `live` says whether the token is still unexpired at `now`. */
export function ledgerEntryToJson(entry: LedgerEntry, now: Date): LedgerEntryJson {
  return {
    jti: entry.jti,
    subject: entry.subject,
    attestor: entry.attestor,
    attestorKind: entry.attestorKind,
    attestationFingerprint: entry.attestationFingerprint,
    sources: entry.sources,
    audience: entry.audience,
    scopes: entry.scopes,
    grantIds: entry.grantIds,
    issuedAt: entry.issuedAt.toISOString(),
    expiresAt: entry.expiresAt.toISOString(),
    clientAddress: entry.clientAddress,
    requestId: entry.requestId,
    ...(entry.kid === undefined ? {} : { kid: entry.kid }),
    ...(entry.parentJti === undefined ? {} : { parentJti: entry.parentJti }),
    ...(entry.ancestorJtis === undefined ? {} : { ancestorJtis: entry.ancestorJtis }),
    ...(entry.actors === undefined ? {} : { actors: entry.actors }),
    ...(entry.actorSources === undefined ? {} : { actorSources: entry.actorSources }),
    ...(entry.actorGrantIds === undefined ? {} : { actorGrantIds: entry.actorGrantIds }),
    live: entry.expiresAt.getTime() > now.getTime(),
  }
}
