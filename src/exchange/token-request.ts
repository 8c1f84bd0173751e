import { z } from 'zod'
import { InvalidRequestError, InvalidScopeError, InvalidTargetError, UnsupportedGrantTypeError } from '../errors.js'
import { ScopeToken } from '../grants/grant.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js'
import { TOKEN_TYPE } from '../oauth/token-types.js'
import { ATTESTATION_TOKEN_TYPES } from '../attestors/catalog.js'

/**
 * Every subject token type Seed STS knows: those the attestor kinds are presented as (the catalog's);
 * which are accepted depends on the attestors configured. A type accepted for another reason (our own
 * access tokens, later) is added here beside the catalog's, not through it.
 */
export const SUPPORTED_SUBJECT_TOKEN_TYPES: readonly string[] = [...ATTESTATION_TOKEN_TYPES]
export const SUPPORTED_REQUESTED_TOKEN_TYPES = [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt] as const

/** The token exchange request (RFC 8693 section 2.1) after the form body is parsed. */
export const TokenExchangeRequest = z.object({
  subject_token: z.string({ error: 'subject_token is required' }).min(1, 'subject_token is required'),
  subject_token_type: z.enum(SUPPORTED_SUBJECT_TOKEN_TYPES, {
    error: (issue) =>
      issue.input === undefined
        ? 'subject_token_type is required'
        : `subject_token_type must be one of ${SUPPORTED_SUBJECT_TOKEN_TYPES.join(', ')}`,
  }),
  requested_token_type: z
    .enum(SUPPORTED_REQUESTED_TOKEN_TYPES, { error: `requested_token_type must be one of ${SUPPORTED_REQUESTED_TOKEN_TYPES.join(', ')}` })
    .default(TOKEN_TYPE.accessToken),
  audience: z.string().min(1, 'audience must not be empty').max(512, 'audience is too long').optional(),
  scope: z.string().max(4096, 'scope is too long').optional(),
  /** A Seed STS extension: the lifetime the client wants, in seconds; refused if the grants allow less. */
  expires_in: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'expires_in must be a whole number of seconds')
    .transform(Number)
    .optional(),
})

export type TokenExchangeRequest = z.infer<typeof TokenExchangeRequest>

export interface ParsedTokenExchange {
  subjectToken: string
  subjectTokenType: string
  requestedTokenType: string
  audience?: string
  scopes: string[]
  requestedLifetimeSeconds?: number
}

/** Parameters we know and ignore: public clients may name themselves. */
const IGNORED = new Set(['client_id'])

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
  if (params.has('actor_token') || params.has('actor_token_type')) {
    throw new InvalidRequestError('delegation (actor_token) is not supported', 'delegation_unsupported')
  }
  if (params.has('resource')) throw new InvalidTargetError('resource is not supported: name the target service with audience', 'resource_unsupported')
  if ((params.get('audience')?.length ?? 0) > 1) throw new InvalidTargetError('one audience per request', 'parameter_repeated')

  const single: Record<string, string> = {}
  for (const [name, values] of params) {
    if (name === 'grant_type' || IGNORED.has(name)) continue
    if (values.length > 1) throw new InvalidRequestError(`${clipUntrusted(name)} must appear once`, 'parameter_repeated')
    single[name] = values[0]!
  }
  const subjectToken = single.subject_token
  if (subjectToken !== undefined && Buffer.byteLength(subjectToken) > maxAttestationBytes) {
    throw new InvalidRequestError(`subject_token is larger than ${maxAttestationBytes} bytes`, 'attestation_too_large')
  }

  const parsed = TokenExchangeRequest.safeParse(single)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    // RFC 6749 section 3.1: a parameter sent without a value is treated as if it were left out.
    throw new InvalidRequestError(issue.message, single[String(issue.path[0])] ? 'parameter_invalid' : 'parameter_missing')
  }
  const request = parsed.data
  return {
    subjectToken: request.subject_token,
    subjectTokenType: request.subject_token_type,
    requestedTokenType: request.requested_token_type,
    audience: request.audience,
    scopes: parseScopes(request.scope),
    requestedLifetimeSeconds: request.expires_in,
  }
}

function parseScopes(scope: string | undefined): string[] {
  if (scope === undefined) return []
  const scopes = [...new Set(scope.split(' ').filter((s) => s.length > 0))]
  const malformed = scopes.find((s) => !ScopeToken.safeParse(s).success)
  if (malformed !== undefined) throw new InvalidScopeError(`scope "${clipUntrusted(malformed)}" is not a valid scope token`, 'scope_malformed')
  return scopes
}
