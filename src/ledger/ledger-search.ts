import { z } from 'zod'
import type { PageRequest } from '../lib/page.js'
import type { LedgerEntry, LedgerFilter } from './ledger-store.js'

/**
 * GET /v1/ledger: the incident view's query, and what one entry looks like on the wire. The one
 * source for the handler's validation, its types and the API description.
 */

const Instant = z.iso.datetime({ offset: true })
const Period = z.object({ since: Instant.optional(), until: Instant.optional() })

export const LedgerSearchQuery = z
  .object({
    // Printable ASCII only: SPIFFE IDs are, and it keeps `?` meaning one character in both the
    // JavaScript and the Postgres regex (they count characters outside the BMP differently).
    subject: z
      .string()
      .max(512)
      .regex(/^spiffe:\/\/[\x21-\x2E\x30-\x7E]+\/[\x21-\x7E]*$/, 'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*')
      .optional(),
    grant: z.uuid('must be a grant id (a UUID)').optional(),
    source: z.string().min(1).max(512).optional(),
    audience: z.string().min(1).max(512).optional(),
    since: Instant.optional(),
    until: Instant.optional(),
    live: z.enum(['true', 'false']).optional(),
    cursor: z.string().max(512).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
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
    cursor: query.cursor,
    limit: query.limit,
  }
}

/** What a ledger entry looks like on the wire; `live` says whether the token is still unexpired at `now`. */
export function ledgerEntryToJson(entry: LedgerEntry, now: Date) {
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
    live: entry.expiresAt.getTime() > now.getTime(),
  }
}
