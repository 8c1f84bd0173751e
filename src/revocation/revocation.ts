import { z } from 'zod'
import { isLowerCaseUuid } from '../lib/ids.js'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'

/**
 * What can be revoked: a token (its jti), a subject (or a glob of them), a grant, an attestation
 * source, a signing key (its kid: every token it signed).
 */
export const REVOCATION_KINDS = ['token', 'subject', 'grant', 'source', 'key'] as const
export type RevocationKind = (typeof REVOCATION_KINDS)[number]

/**
 * What POST /v1/revocations takes. A key is revoked through POST /v1/keys/{kid}/revoke, which also
 * withdraws it from the JWKS and puts another key in its place.
 */
export const REVOCABLE_KINDS = ['token', 'subject', 'grant', 'source'] as const satisfies readonly RevocationKind[]

/** A revocation to make: what the admin API's input becomes, or what the key service asks for. */
export interface RevocationRequest extends RevocationTarget {
  reason: string
  /** RFC 3339; without it, as the kind says (a token's expires with the token, the others never). */
  expiresAt?: string
}

export interface RevocationTarget {
  kind: RevocationKind
  value: string
}

/** A revocation and its whole life: in force until lifted or expired. */
export interface Revocation extends RevocationTarget {
  id: string
  reason: string
  createdAt: Date
  createdBy: string
  /** After this it no longer matters (a revoked token has expired anyway); null: never. */
  expiresAt: Date | null
  liftedAt: Date | null
  liftedBy: string | null
  liftReason: string | null
  /** Position in the stream of changes; a lift moves it to the end. A bigint: positions keep every digit. */
  seq: bigint
}

export function inForce(revocation: Revocation, nowMillis: number): boolean {
  return revocation.liftedAt === null && (revocation.expiresAt === null || revocation.expiresAt.getTime() > nowMillis)
}

/** POST /v1/revocations. */
export const RevocationInput = z
  .object({
    kind: z.enum(REVOCABLE_KINDS).describe('What `value` names. A signing key is revoked with `POST /v1/keys/{kid}/revoke`.'),
    value: z.string().min(1).max(512).describe(prose`
      A token's \`jti\` or a grant's id (UUIDs), a SPIFFE ID or a glob of them
      (\`spiffe://example.org/k8s/prod/ns/payments/**\`), or an attestation source (\`k8s:prod\`,
      \`k8s:prod:node:node-a\`, \`k8s:prod:pod:<pod uid>\`, \`aws:111122223333\`, \`gcp:<project>\`,
      \`azure:<subscription>\`, \`github:repository_id:<id>\`, ...; each attestor's sources are in the
      README). Compared exactly, except a subject glob; GitHub names of github.com's namespace
      (\`github:...\`, \`spiffe://<td>/github/...\`) are lower-cased first.
    `),
    reason: z
      .string()
      .trim()
      .min(1, 'say why: responders after you will ask')
      .max(2000)
      .describe('Why, for the responders after you. Surrounding spaces are trimmed; it must not be empty.'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe(prose`
      When the revocation stops counting; RFC 3339, in the future. Without it a \`token\`
      revocation expires with the token and the others never do.
    `),
  })
  .strict()
  .superRefine((input, ctx) => {
    const problem =
      (input.kind === 'token' || input.kind === 'grant') && !isLowerCaseUuid(input.value)
        ? `a ${input.kind} is named by its id, a UUID`
        : input.kind === 'subject' && !/^spiffe:\/\/[^/]+\/\S*$/.test(input.value)
          ? 'a subject is a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/**'
          : undefined
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem })
  })
  .meta({ id: 'RevocationInput', description: 'What to revoke, as sent to `POST /v1/revocations`. Unknown keys are refused.' })

export type RevocationInput = z.infer<typeof RevocationInput>

/** DELETE /v1/revocations/{id}. */
export const LiftInput = z
  .object({
    reason: z
      .string()
      .trim()
      .min(1, 'say why the revocation is lifted')
      .max(2000)
      .describe('Surrounding spaces are trimmed; it must not be empty.'),
  })
  .strict()
  .meta({ id: 'LiftInput', description: 'Why a revocation is lifted, as sent to `DELETE /v1/revocations/{id}`.' })

export const RevocationListQuery = z
  .object({
    kind: z.enum(REVOCATION_KINDS).optional().describe('Only revocations of this kind.'),
    value: z.string().min(1).max(512).optional().describe('Only revocations whose `value` is exactly this (a glob is compared literally).'),
    active: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional()
      .describe('`true`: only those in force now; `false`: only lifted or expired ones.'),
    /** Changes after this position (a `cursor` from an earlier answer); for polling. */
    since: z
      .string()
      .regex(/^\d{1,18}$/, 'a cursor from an earlier answer')
      .optional()
      .describe('Only changes after this position (a `cursor` from an earlier answer).'),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'a cursor from an earlier answer')
      .optional()
      .describe('The `nextCursor` of the previous page.'),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('Page size.'),
  })
  .strict()

const Instant = z.iso.datetime()

/** HMAC-SHA-256 under the deployment's source hash key, base64url: what tokens carry in `src_h` (src/tokens/source-hash.ts). */
const SourceHash = z.string().regex(/^[A-Za-z0-9_-]{43}$/)

/**
 * A revocation as the narrow role `revocations:subscribe` sees it: what a verifier needs to refuse
 * tokens, and no more. No reasons (free text, which may name people, tickets or hosts), no actors,
 * and a source only by its keyed hash.
 */
export const RevocationNotice = z
  .object({
    id: Uuid,
    kind: z.enum(REVOCATION_KINDS),
    value: z
      .string()
      .optional()
      .describe("What is revoked: a token's `jti`, a subject or a glob of them, a grant's id, a key's `kid`. Absent for a source."),
    sourceHash: SourceHash.optional().describe(
      'For a `source` revocation (only): the keyed hash of the source id, as tokens carry it in `src_h`.',
    ),
    createdAt: Instant,
    expiresAt: Instant.nullable().describe('When it stops counting; null: never.'),
    liftedAt: Instant.nullable().describe('Set once it is lifted: it no longer counts.'),
    cursor: z.string().regex(/^\d+$/).describe('Its position in the order of changes: the `id` of its stream event, a value for `since`.'),
  })
  .strict()
  .meta({
    id: 'RevocationNotice',
    description: prose`
      A revocation as a token with only the role \`revocations:subscribe\` sees it: without reasons or
      actors, a source by its keyed hash alone. It counts while \`liftedAt\` is null and \`expiresAt\`
      is null or in the future.
    `,
  })
export type RevocationNotice = z.infer<typeof RevocationNotice>

/** What a revocation looks like on the wire. */
export const RevocationJson = z
  .object({
    id: Uuid,
    kind: z.enum(REVOCATION_KINDS),
    value: z.string().describe('See `RevocationInput`.'),
    sourceHash: SourceHash.optional().describe(prose`
      For a \`source\` revocation only: the source id's keyed hash, as tokens carry it in \`src_h\`
      (answers of the admin API; not kept in the log).
    `),
    reason: z.string(),
    createdAt: Instant,
    createdBy: z
      .string()
      .describe(
        'The name of the admin token that made it (`bootstrap` for the bootstrap token, `oidc:<name>` for a person); ' +
          '`holder:<sub>` when the holder of the token revoked it (`POST /oauth2/revoke`).',
      ),
    expiresAt: Instant.nullable().describe('When it stops counting; null: never.'),
    liftedAt: Instant.nullable(),
    liftedBy: z.string().nullable().describe('Who lifted it; `seed-sts` when an expired one made room for a new revocation of its target.'),
    liftReason: z.string().nullable(),
    cursor: z.string().regex(/^\d+$/).describe('Its position in the order of changes: the `id` of its stream event, a value for `since`.'),
  })
  .strict()
  .meta({
    id: 'Revocation',
    description: 'A revocation and its whole life. It counts while `liftedAt` is null and `expiresAt` is null or in the future.',
  })
export type RevocationJson = z.infer<typeof RevocationJson>

export function revocationToJson(revocation: Revocation): RevocationJson {
  return {
    id: revocation.id,
    kind: revocation.kind,
    value: revocation.value,
    reason: revocation.reason,
    createdAt: revocation.createdAt.toISOString(),
    createdBy: revocation.createdBy,
    expiresAt: revocation.expiresAt?.toISOString() ?? null,
    liftedAt: revocation.liftedAt?.toISOString() ?? null,
    liftedBy: revocation.liftedBy,
    liftReason: revocation.liftReason,
    cursor: String(revocation.seq),
  }
}

export function revocationFromJson(json: RevocationJson): Revocation {
  return {
    id: json.id,
    kind: json.kind,
    value: json.value,
    reason: json.reason,
    createdAt: new Date(json.createdAt),
    createdBy: json.createdBy,
    expiresAt: json.expiresAt === null ? null : new Date(json.expiresAt),
    liftedAt: json.liftedAt === null ? null : new Date(json.liftedAt),
    liftedBy: json.liftedBy,
    liftReason: json.liftReason,
    seq: BigInt(json.cursor),
  }
}
