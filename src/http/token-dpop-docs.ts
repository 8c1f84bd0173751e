import { z } from 'zod'
import { prose } from '../lib/prose.js'
import type { OAuthErrorBody } from './error-bodies.js'
import { component, type Header } from './openapi/operation.js'

/** What the token operation's description says of DPoP (RFC 9449), beside the rest of it in token-operation.ts. */
export const DPOP_DESCRIPTION = prose`
  **DPoP (RFC 9449).** Send a proof in one \`DPoP\` header to get a token bound to its key (claim
  \`cnf.jkt\`, \`token_type: DPoP\`): a JWS with \`typ: dpop+jwt\`, an algorithm of
  \`dpop_signing_alg_values_supported\`, the public key as \`jwk\`, and claims \`jti\` (new for each
  proof: a proof is accepted once, on any instance), \`htm\` \`POST\`, \`htu\` the \`token_endpoint\`
  of the metadata, \`iat\` within \`dpop.proofWindowSeconds\` (60 s) of the server's clock, and with
  \`dpop.nonce: required\` the \`nonce\` of the last \`DPoP-Nonce\` header received (a proof without
  one, or with a stale one, is refused with \`use_dpop_nonce\` and a fresh \`DPoP-Nonce\`: retry with
  it). Any other fault of the proof is \`invalid_dpop_proof\`. A grant with \`requireDpop\` refuses a
  request without a proof (\`invalid_request\`, \`dpop_required\`).
`

export const DpopNonceHeader = component<Header>('headers', 'DpopNonce', {
  description: 'With `dpop.nonce: required`: the nonce the next DPoP proof must carry (RFC 9449 section 8). Absent otherwise.',
  schema: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/),
})

/** The 400 examples of DPoP refusals. */
export const DPOP_ERROR_EXAMPLES: Record<string, { summary: string; value: OAuthErrorBody }> = {
  invalid_dpop_proof: {
    summary: 'The DPoP proof is malformed, or its type, algorithm, key, signature, jti, htm, htu, iat, exp or nbf does not check out',
    value: {
      error: 'invalid_dpop_proof',
      error_description:
        'the DPoP proof\'s htu is "https://sts.example.org/oauth2/other"; this endpoint is https://sts.example.org/oauth2/token',
      error_reason: 'dpop_proof_invalid',
    },
  },
  dpop_proof_replayed: {
    summary: 'The DPoP proof (its key and jti) was used before',
    value: {
      error: 'invalid_dpop_proof',
      error_description: 'this DPoP proof was already used: make a new proof, with a new jti, for each request',
      error_reason: 'dpop_proof_replayed',
    },
  },
  use_dpop_nonce: {
    summary: 'The proof must carry the nonce of the DPoP-Nonce header (sent with this answer)',
    value: {
      error: 'use_dpop_nonce',
      error_description: 'this server requires a nonce in DPoP proofs: use the one in the DPoP-Nonce header',
      error_reason: 'dpop_nonce_required',
    },
  },
  dpop_required: {
    summary: 'A contributing grant requires DPoP and the request has no proof',
    value: {
      error: 'invalid_request',
      error_description: 'a grant for audience "ledger-api" requires DPoP: send a DPoP proof (RFC 9449) with the token request',
      error_reason: 'dpop_required',
    },
  },
}
