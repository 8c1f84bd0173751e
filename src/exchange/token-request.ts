import { z } from 'zod'
import { InvalidRequestError, InvalidScopeError, InvalidTargetError, UnsupportedGrantTypeError } from '../errors.js'
import { ScopeToken } from '../grants/grant.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js'
import { TOKEN_TYPE } from '../oauth/token-types.js'
import { ATTESTATION_TOKEN_TYPES } from '../attestors/catalog.js'
import { prose } from '../lib/prose.js'

/**
 * Every subject token type Seed STS knows: those the attestor kinds are presented as (the catalog's),
 * which are accepted depending on the attestors configured, and our own access tokens (to narrow one,
 * or to act for its subject), always accepted. Actor tokens take the same types.
 */
export const SUPPORTED_SUBJECT_TOKEN_TYPES: readonly string[] = [...ATTESTATION_TOKEN_TYPES, TOKEN_TYPE.accessToken]
export const SUPPORTED_REQUESTED_TOKEN_TYPES = [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt] as const

/** The token exchange request (RFC 8693 section 2.1) after the form body is parsed. */
export const TokenExchangeRequest = z.object({
  subject_token: z.string({ error: 'subject_token is required' }).min(1, 'subject_token is required').describe(prose`
      The attestation, addressed to the STS audience where it has one: a JWT (a Kubernetes
      projected service-account token, a GCP instance identity token requested with
      \`format=full\`, an Azure managed-identity access token, a GitHub Actions OIDC token,
      any configured OIDC issuer's token); for \`aws-instance-identity\` a JSON object
      \`{"document", "signature", "nonce"}\`, \`{"pkcs7", "nonce"}\` or \`{"rsa2048", "nonce"}\`
      from the instance metadata service; for \`azure-attested-data\` the IMDS
      \`/metadata/attested/document\` response or its \`signature\`. At most
      \`limits.maxAttestationBytes\` (16384 by default) bytes, otherwise \`invalid_request\`.
      It is never stored; the ledger keeps its SHA-256.
    `),
  subject_token_type: z.enum(SUPPORTED_SUBJECT_TOKEN_TYPES, {
    error: (issue) =>
      issue.input === undefined
        ? 'subject_token_type is required'
        : `subject_token_type must be one of ${SUPPORTED_SUBJECT_TOKEN_TYPES.join(', ')}`,
  }).describe(prose`
      What \`subject_token\` is. \`jwt\` and \`id_token\` are verified the same way, as a JWT, by
      the attestor configured for its \`iss\`. The \`urn:seed-sts:token-type:*\` types are Seed
      STS's own, for attestations that are not JWTs; each is taken by the attestor configured
      for it. A type no configured attestor takes is refused with \`invalid_request\`; discovery
      lists the accepted ones in \`subject_token_types_supported\`.
      \`access_token\` is one of this service's own access tokens: the token issued narrows it
      (same audience, scopes and lifetime within its own, and it dies with it; README, "Agents and
      delegation"), or with an \`actor_token\` lets the actor act for its subject.
    `),
  requested_token_type: z
    .enum(SUPPORTED_REQUESTED_TOKEN_TYPES, { error: `requested_token_type must be one of ${SUPPORTED_REQUESTED_TOKEN_TYPES.join(', ')}` })
    .default(TOKEN_TYPE.accessToken).describe(prose`
      The type of token wanted. Either way the token issued is the same RFC 9068 JWT
      access token; \`issued_token_type\` in the response echoes this value.
    `),
  audience: z.string().min(1, 'audience must not be empty').max(512, 'audience is too long').optional().describe(prose`
      The service the token is for; becomes the token's \`aud\`. Exactly one per request
      (sent twice: \`invalid_target\`). May be omitted when the matching grants name
      exactly one audience.
    `),
  scope: z.string().max(4096, 'scope is too long').optional().describe(prose`
      Space-separated scopes wanted (RFC 6749 scope tokens; duplicates are dropped).
      Each must be granted for the audience, otherwise \`invalid_scope\`. Omit it to get
      every scope granted for the audience.
    `),
  /** A Seed STS extension: the lifetime the client wants, in seconds; refused if the grants allow less. */
  expires_in: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'expires_in must be a whole number of seconds')
    // Before the transform: the API description shows what the client sends, a string of digits.
    .meta({ examples: ['60'] })
    .transform(Number)
    .optional().describe(prose`
      A Seed STS extension: the lifetime wanted, in whole seconds (1 to 999999, no sign,
      no leading zero, otherwise \`invalid_request\`). One longer than the least
      \`maxTtlSeconds\` of the contributing grants or than \`tokens.maxTtlSeconds\` is
      refused with \`invalid_request\`, such as \`expires_in 7200 is longer than the 600
      seconds allowed for this token\`. Omit it to get the default lifetime (see above).
    `),
})

export type TokenExchangeRequest = z.infer<typeof TokenExchangeRequest>

export interface ParsedTokenExchange {
  subjectToken: string
  subjectTokenType: string
  requestedTokenType: string
  audience?: string
  scopes: string[]
  requestedLifetimeSeconds?: number
  /** RFC 8693 delegation: the acting party's attestation or access token of ours, with its type. */
  actor?: { token: string; tokenType: string }
}

/** Parameters we know and ignore: public clients may name themselves. */
const IGNORED = new Set(['client_id'])

/**
 * The form as a client sends it, for the API description: what parseTokenRequest checks itself
 * (`grant_type`, the parameters it ignores or refuses, repeated parameters) around TokenExchangeRequest.
 */
export const TokenExchangeForm = z
  .object({
    grant_type: z.literal(TOKEN_EXCHANGE_GRANT).describe('Always the token exchange grant type. Must appear once.'),
    ...TokenExchangeRequest.shape,
    client_id: z
      .string()
      .optional()
      .meta({
        description:
          'Accepted and ignored, so public-client libraries that always send it work. ' +
          "The token's `client_id` claim is the workload's identity.",
        'x-seed-sts-ignored': true,
      }),
    actor_token: z.string().optional().describe(prose`
      Delegation (RFC 8693 section 2.1): the acting workload's attestation, or an access token of
      this service issued to it (DPoP-bound, or issued for the audience that is this service's
      issuer). The token issued keeps \`sub\` the subject and names the actor in \`act\`, nested
      after any actors the subject token already had. Only grants whose \`mayAct\` matches the
      actor contribute (none: \`invalid_grant\`, \`actor_not_allowed\`); a chain longer than
      \`delegation.maxChainDepth\` is \`invalid_grant\` (\`delegation_chain_too_long\`). Same size limit
      as \`subject_token\`.
    `),
    actor_token_type: z
      .enum(SUPPORTED_SUBJECT_TOKEN_TYPES)
      .optional()
      .describe('What `actor_token` is, from the same types as `subject_token_type`. Required with `actor_token`, refused without it.'),
    resource: z.never().optional().meta({
      description: 'Not supported; name the target service with `audience`. Its presence is refused with `invalid_target`.',
      'x-seed-sts-refused-with': 'invalid_target',
    }),
  })
  .catchall(z.unknown().describe('Other parameters are ignored, but every parameter may appear only once (`invalid_request`).'))

/**
 * Reads the form parameters into a request, or throws the RFC 6749 / RFC 8693 error that says
 * exactly what is wrong with it.
 */
export function parseTokenRequest(params: Map<string, string[]>, maxAttestationBytes: number): ParsedTokenExchange {
  const grantType = params.get('grant_type')
  if (!grantType) throw new InvalidRequestError('grant_type is required', 'parameter_missing')
  if (grantType.length > 1) throw new InvalidRequestError('grant_type must appear once', 'parameter_repeated')
  if (grantType[0] !== TOKEN_EXCHANGE_GRANT) {
    throw new UnsupportedGrantTypeError(`only ${TOKEN_EXCHANGE_GRANT} is supported`, 'grant_type_unsupported')
  }
  if (params.has('resource'))
    throw new InvalidTargetError('resource is not supported: name the target service with audience', 'resource_unsupported')
  if ((params.get('audience')?.length ?? 0) > 1) throw new InvalidTargetError('one audience per request', 'parameter_repeated')

  const single: Record<string, string> = {}
  for (const [name, values] of params) {
    if (name === 'grant_type' || IGNORED.has(name)) continue
    if (values.length > 1) throw new InvalidRequestError(`${clipUntrusted(name)} must appear once`, 'parameter_repeated')
    single[name] = values[0]!
  }
  for (const name of ['subject_token', 'actor_token'] as const) {
    const token = single[name]
    if (token !== undefined && Buffer.byteLength(token) > maxAttestationBytes) {
      throw new InvalidRequestError(`${name} is larger than ${maxAttestationBytes} bytes`, 'attestation_too_large')
    }
  }

  const parsed = TokenExchangeRequest.safeParse(single)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    // RFC 6749 section 3.1: a parameter sent without a value is treated as if it were left out.
    throw new InvalidRequestError(issue.message, single[String(issue.path[0])] ? 'parameter_invalid' : 'parameter_missing')
  }
  const request = parsed.data
  const actor = parseActor(single.actor_token, single.actor_token_type)
  return {
    subjectToken: request.subject_token,
    subjectTokenType: request.subject_token_type,
    requestedTokenType: request.requested_token_type,
    audience: request.audience,
    scopes: parseScopes(request.scope),
    requestedLifetimeSeconds: request.expires_in,
    ...(actor === undefined ? {} : { actor }),
  }
}

/** RFC 8693 section 2.1: `actor_token_type` is required with `actor_token` and must not come without it. */
function parseActor(token: string | undefined, tokenType: string | undefined): ParsedTokenExchange['actor'] {
  // RFC 6749 section 3.1: a parameter sent without a value is treated as if it were left out.
  const presented = token === '' ? undefined : token
  const type = tokenType === '' ? undefined : tokenType
  if (presented === undefined && type === undefined) return undefined
  if (presented === undefined) throw new InvalidRequestError('actor_token_type was sent without actor_token', 'parameter_missing')
  if (type === undefined) throw new InvalidRequestError('actor_token_type is required with actor_token', 'parameter_missing')
  if (!SUPPORTED_SUBJECT_TOKEN_TYPES.includes(type)) {
    throw new InvalidRequestError(`actor_token_type must be one of ${SUPPORTED_SUBJECT_TOKEN_TYPES.join(', ')}`, 'parameter_invalid')
  }
  return { token: presented, tokenType: type }
}

function parseScopes(scope: string | undefined): string[] {
  if (scope === undefined) return []
  const scopes = [...new Set(scope.split(' ').filter((s) => s.length > 0))]
  const malformed = scopes.find((s) => !ScopeToken.safeParse(s).success)
  if (malformed !== undefined)
    throw new InvalidScopeError(`scope "${clipUntrusted(malformed)}" is not a valid scope token`, 'scope_malformed')
  return scopes
}
