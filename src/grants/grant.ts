import { z } from 'zod'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'
import { MAX_TOKEN_LIFETIME_SECONDS } from '../lib/token-lifetime.js'

/**
 * The grant model and its request schemas: the one source for admin API validation, the handler
 * types and the API description.
 */

/** RFC 6749 scope-token: printable ASCII except space, `"` and `\`. */
export const ScopeToken = z
  .string()
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'must be a scope token: printable ASCII, no spaces, quotes or backslashes')

const Glob = z.string().min(1).max(512)
const ClaimName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a claim name such as namespace or podName')

export const GrantConditions = z
  .record(ClaimName, z.union([Glob, z.array(Glob).min(1).max(50)]))
  .refine((c) => Object.keys(c).length <= 32, 'at most 32 conditions')
  // What the refinement above checks, for the API description (JSON Schema cannot see into it).
  .meta({ maxProperties: 32 })

const Subject = Glob.regex(
  /^spiffe:\/\/[^/]+\/\S*$/,
  'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*',
)
/** At most 50, each once: a repeated glob says nothing more, and refusing it keeps a read-modify-write exact. */
const MayAct = z
  .array(Subject)
  .max(50)
  .refine((globs) => new Set(globs).size === globs.length, 'must not list the same glob twice')
  // What the refinement above checks, for the API description (JSON Schema cannot see into it).
  .meta({ uniqueItems: true })
const Audiences = z.array(z.string().min(1).max(512)).min(1).max(100)
const Scopes = z.array(ScopeToken).max(100)
const MaxTtlSeconds = z.number().int().positive().max(MAX_TOKEN_LIFETIME_SECONDS)
const Owner = z.string().trim().min(1).max(200)
const Description = z.string().max(2000)
const ExpiresAt = z.iso.datetime({ offset: true })

/** POST /v1/grants: what may be left out gets its default. */
export const GrantInput = z
  .object({
    subject: Subject.describe(prose`
      The workload identities this grant is for: a SPIFFE ID or a glob of them. \`*\` matches
      within one path segment, \`**\` across segments, \`?\` one character; the whole ID must
      match. Example: \`spiffe://example.org/k8s/prod/ns/payments/sa/*\`.
    `),
    conditions: GrantConditions.default({}).describe(prose`
      Further claims of the attestation that must match, all of them: claim name to a glob, or
      to a list of globs of which one must match. A claim the attestation does not have never
      matches. The claims each attestor gives (README, one section per attestor):
      Kubernetes \`cluster\`, \`issuer\`, \`namespace\`, \`serviceAccount\`, \`serviceAccountUid\`,
      \`podName\`, \`podUid\`, \`nodeName\`, \`nodeUid\`; AWS \`accountId\`, \`region\`,
      \`availabilityZone\`, \`instanceId\`, \`instanceType\`, \`imageId\`, \`architecture\`, \`privateIp\`;
      GCP \`projectId\`, \`projectNumber\`, \`zone\`, \`region\`, \`instanceId\`, \`instanceName\`,
      \`serviceAccountEmail\`, \`serviceAccountId\`, \`licenseIds\`; Azure attested data
      \`subscriptionId\`, \`vmId\`, \`sku\`, \`licenseType\`, \`planName\`, \`planProduct\`,
      \`planPublisher\`, managed identities \`tenantId\`, \`objectId\`, \`appId\`, \`subscriptionId\`,
      \`resourceGroup\`, \`resourceId\`, \`vmName\`; GitHub Actions the token's own claim names
      (\`repository\`, \`repository_id\`, \`repository_owner\`, \`repository_owner_id\`, \`ref\`,
      \`environment\`, \`workflow_ref\`, \`job_workflow_ref\`, ...); generic OIDC the claims its
      attestor exposes. Pin ids (\`repository_id\`, \`accountId\`) rather than names that can be
      re-registered. At most 32.
    `),
    audiences: Audiences.describe('The services (token `aud` values) the identities may get tokens for, compared exactly.'),
    scopes: Scopes.default([]).describe(
      'Scopes the identities may get for these audiences, compared exactly. Empty grants tokens without scope.',
    ),
    maxTtlSeconds: MaxTtlSeconds.default(3600).describe(prose`
      The longest lifetime of a token this grant contributes to. Without \`expires_in\` a token
      gets the server default (\`tokens.defaultTtlSeconds\`, 300 s unless configured) shortened to
      fit; a client may ask for longer with \`expires_in\`, up to this and the server cap
      \`tokens.maxTtlSeconds\` (3600 s unless configured).
    `),
    owner: Owner.describe('The team accountable for the grant; filter the list by it. Surrounding spaces are trimmed.'),
    description: Description.default('').describe('Why the grant exists, for the next person who reads it.'),
    /** Default: `grants.defaultLifetimeDays` ahead. */
    expiresAt: ExpiresAt.optional().describe(prose`
      When the grant stops matching; RFC 3339 with \`Z\` or an offset, in the future. Defaults to
      now plus \`grants.defaultLifetimeDays\` (90 days).
    `),
    enabled: z.boolean().default(true).describe('A disabled grant never matches.'),
    requireDpop: z.boolean().default(false).describe(prose`
      Tokens this grant contributes to are bound to a DPoP key (RFC 9449, \`cnf.jkt\`): a token request
      without a DPoP proof is refused with \`invalid_request\` (\`dpop_required\`). A request with a
      proof gets a bound token whatever its grants say.
    `),
    mayAct: MayAct.default([]).describe(prose`
      SPIFFE IDs or globs of the workloads that may act for this grant's subjects (RFC 8693
      \`actor_token\`): a token request with an \`actor_token\` gets something from this grant only when
      the actor's identity matches one of these. Empty: no delegation. Same glob syntax as \`subject\`;
      at most 50, none repeated.
    `),
  })
  .strict()
  .meta({
    id: 'GrantInput',
    description:
      'What a grant says, as sent to `POST /v1/grants`; what is left out takes the default shown. Unknown keys are refused. ' +
      '(`PUT` takes a `GrantReplacement`.)',
  })

/**
 * PUT /v1/grants/{id}: a whole grant, nothing defaulted, so leaving out `conditions` or `enabled` can
 * never widen or re-enable a grant by accident. The read-only fields of a grant just read may be sent
 * back as they are and are ignored.
 */
export const GrantReplacement = z
  .object({
    subject: Subject.describe('See `GrantInput`.'),
    conditions: GrantConditions.describe('See `GrantInput`. Send `{}` for none.'),
    audiences: Audiences.describe('See `GrantInput`.'),
    scopes: Scopes.describe('See `GrantInput`. Send `[]` for none.'),
    maxTtlSeconds: MaxTtlSeconds.describe('See `GrantInput`.'),
    owner: Owner.describe('See `GrantInput`.'),
    description: Description.describe('See `GrantInput`.'),
    expiresAt: ExpiresAt.describe('When the grant stops matching; RFC 3339, in the future. Send the value read to keep it.'),
    enabled: z.boolean().describe('See `GrantInput`. Send `false` to keep a disabled grant disabled.'),
    requireDpop: z
      .boolean()
      .optional()
      .describe(
        'See `GrantInput`. Left out, the grant keeps its current value (so a client that predates it never drops the requirement).',
      ),
    mayAct: MayAct.optional().describe(
      'See `GrantInput`. Left out, the grant keeps its current value (so a client that predates it never drops the delegations). Send `[]` for none.',
    ),
    id: Uuid.optional().describe('Read-only; ignored. If sent, it must be the id in the path.'),
    version: z.number().optional().describe('Read-only; ignored (`If-Match` carries the version).'),
    createdAt: z.string().max(64).optional().describe('Read-only; ignored.'),
    updatedAt: z.string().max(64).optional().describe('Read-only; ignored.'),
    warnings: z
      .array(z.object({ rule: z.string().max(64), field: z.string().max(64), reason: z.string().max(4000) }))
      .max(20)
      .optional()
      .describe('Read-only (the guardrails that warned when the grant was last written); ignored.'),
  })
  .strict()
  .meta({
    id: 'GrantReplacement',
    description: prose`
      A whole grant, as sent to \`PUT /v1/grants/{id}\`: every field of \`GrantInput\` is required and
      none is defaulted. A \`Grant\` as read is a valid body: its read-only fields may come along and
      are ignored (\`id\`, if sent, must be the grant's own). Unknown keys are refused.
    `,
  })

export type GrantReplacement = z.infer<typeof GrantReplacement>
export type GrantInput = z.infer<typeof GrantInput>

export const GrantListQuery = z
  .object({
    owner: z.string().min(1).max(200).optional().describe('Only grants with exactly this owner.'),
    subject: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'Only grants whose `subject` is exactly this string (the stored glob, compared literally; not matched against an identity).',
      ),
    cursor: z
      .string()
      .max(512)
      .optional()
      .describe('The `nextCursor` of the previous page. Opaque; one not handed out by this API is a 400.'),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('Page size.'),
  })
  .strict()

export type GrantListQuery = z.infer<typeof GrantListQuery>

export interface Grant {
  id: string
  subject: string
  conditions: Record<string, string | string[]>
  audiences: string[]
  scopes: string[]
  maxTtlSeconds: number
  owner: string
  description: string
  expiresAt: Date
  enabled: boolean
  /** Tokens it contributes to must be DPoP-bound (migration 020). */
  requireDpop: boolean
  /** SPIFFE ID globs of the workloads that may act for its subjects with an `actor_token` (migration 021); empty: none. */
  mayAct: string[]
  /** Bumped on every change; the admin API's ETag. */
  version: number
  createdAt: Date
  updatedAt: Date
}

const Instant = z.iso.datetime()

/** What a grant looks like on the wire. */
export const GrantJson = z
  .object({
    id: Uuid,
    subject: z.string().describe('See `GrantInput`.'),
    conditions: z.record(z.string(), z.union([z.string(), z.array(z.string())])).describe('See `GrantInput`.'),
    audiences: z.array(z.string()),
    scopes: z.array(z.string()),
    maxTtlSeconds: z.number().int(),
    owner: z.string(),
    description: z.string(),
    expiresAt: Instant.describe('Always resolved, in UTC.'),
    enabled: z.boolean(),
    requireDpop: z.boolean().describe('See `GrantInput`.'),
    mayAct: z.array(z.string()).describe('See `GrantInput`.'),
    version: z.number().int().min(1).describe('Bumped on every change; the `ETag`.'),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .strict()
  .meta({
    id: 'Grant',
    description: 'A grant as stored. Every property is always present. Sent back as it is, it is a valid `GrantReplacement`.',
  })
export type GrantJson = z.infer<typeof GrantJson>

export function grantToJson(grant: Grant): GrantJson {
  return {
    id: grant.id,
    subject: grant.subject,
    conditions: grant.conditions,
    audiences: grant.audiences,
    scopes: grant.scopes,
    maxTtlSeconds: grant.maxTtlSeconds,
    owner: grant.owner,
    description: grant.description,
    expiresAt: grant.expiresAt.toISOString(),
    enabled: grant.enabled,
    requireDpop: grant.requireDpop,
    mayAct: grant.mayAct,
    version: grant.version,
    createdAt: grant.createdAt.toISOString(),
    updatedAt: grant.updatedAt.toISOString(),
  }
}
