import { z } from 'zod'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'

/**
 * What an issued access token is made of (RFC 9068): its JOSE header and its claims. The signer mints
 * exactly these; the API description shows them to the resource servers that verify the tokens.
 */

export const ACCESS_TOKEN_ALGORITHMS = ['ES256', 'EdDSA'] as const

export const AccessTokenHeader = z
  .object({
    alg: z.enum(ACCESS_TOKEN_ALGORITHMS).describe('The signing algorithm of the key that signed it.'),
    typ: z.literal('at+jwt').describe('RFC 9068 access token. Refuse tokens with another `typ`.'),
    kid: z.string().describe("The JWKS key that verifies it (the key's RFC 7638 thumbprint)."),
  })
  .strict()
  .meta({ id: 'AccessTokenHeader', description: 'The JOSE header of an issued access token.' })

/** RFC 8693 section 4.1: who acts, and (nested) for whom they act in turn. */
export interface ActorClaim {
  sub: string
  act?: ActorClaim
}

export const ActorClaim: z.ZodType<ActorClaim> = z
  .object({
    sub: z.string().describe("The acting workload's identity, a SPIFFE ID."),
    get act() {
      return ActorClaim.optional().describe('The actor before this one in the chain, if any.')
    },
  })
  .strict()
  .meta({
    id: 'ActorClaim',
    description: prose`
      The actor (RFC 8693 section 4.1): the workload or agent using the token on behalf of its
      \`sub\`. The outermost is the current actor; each nested \`act\` is the one before it.
    `,
  })

export const AccessTokenClaims = z
  .object({
    iss: z.url().describe('The issuer; equals `issuer` in the metadata.'),
    sub: z
      .string()
      .describe('The workload identity, a SPIFFE ID: `spiffe://<trust domain>/k8s/<cluster>/ns/<namespace>/sa/<service account>`.')
      .meta({ examples: ['spiffe://example.org/k8s/prod/ns/payments/sa/api'] }),
    aud: z.string().describe('The one audience the token is for. A string, never an array.'),
    exp: z.number().int().describe('Expiry, seconds since the epoch.'),
    iat: z.number().int().describe('Issue time, seconds since the epoch.'),
    nbf: z.number().int().describe('Not valid before; equals `iat`.'),
    jti: Uuid.describe("The token's id, the key of its ledger entry and what revoking one token names."),
    client_id: z.string().describe('The workload is its own client, so this equals `sub`.'),
    scope: z.string().optional().describe('Space-separated scopes; absent when the token carries none.'),
    grants: z.array(Uuid).describe(prose`
      The ids of the grants that gave the token something, sorted: what a \`grant\` revocation names.
      Always present. A stable contract for resource servers (README, "For resource servers").
    `),
    src_h: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/)).describe(prose`
      The token's attestation sources (its cluster, node and pod; its account, region and instance...),
      outermost first, each as HMAC-SHA-256 of the source id under the deployment's
      \`tokens.sourceHashKey\`, base64url without padding: the \`sourceHash\` a \`source\` revocation is
      announced with, so resource servers decide source revocations without learning account ids,
      node names or pod uids. Always present (empty if the attestor names no source). A stable contract.
    `),
    cnf: z
      .object({
        jkt: z
          .string()
          .regex(/^[A-Za-z0-9_-]{43}$/)
          .describe('RFC 7638 SHA-256 thumbprint of the DPoP key, base64url: the key whose proofs go with the token.'),
      })
      .strict()
      .optional().describe(prose`
        Present on a DPoP-bound token (RFC 9449 section 6.1) and only there: accept the token only
        with a DPoP proof (\`Authorization: DPoP <token>\`) signed by the key with this thumbprint,
        whose \`ath\` is the token's hash. Absent: a bearer token.
      `),
    act: ActorClaim.optional().describe(prose`
      Present on a delegated token and only there (RFC 8693 section 4.1): the workload acting for
      \`sub\`, outermost the current actor. Refuse the token if any identity in the chain is revoked
      (a \`subject\` revocation names it). The chain is at most \`delegation.maxChainDepth\` long.
    `),
    ancestor_jtis: z.array(Uuid).optional().describe(prose`
      Present on a token exchanged from other tokens of ours (a narrower token, or one an actor got
      with its own token) and only there: the jti of every token it derives from, directly or not.
      Refuse the token if any of them is revoked: it dies with the tokens it came from.
    `),
  })
  .strict()
  .meta({ id: 'AccessTokenClaims', description: 'The claims of an issued access token (RFC 9068 section 2.2), and nothing else.' })

/** RFC 9068 access token claims, exactly as they go into the JWT. */
export type AccessTokenClaims = z.infer<typeof AccessTokenClaims>
