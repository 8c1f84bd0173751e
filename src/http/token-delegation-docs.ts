import { prose } from '../lib/prose.js'
import type { OAuthErrorBody } from './error-bodies.js'

/** What the token operation's description says of narrowing and delegation (RFC 8693), beside the rest in token-operation.ts. */
export const DELEGATION_DESCRIPTION = prose`
  **A narrower token from one of ours.** With \`subject_token_type\`
  \`urn:ietf:params:oauth:token-type:access_token\`, \`subject_token\` is an active access token of
  this service (verified as introspection does; otherwise \`invalid_grant\`, \`token_inactive\`). The
  token issued keeps its \`sub\`, its audience (another is \`invalid_target\`, \`audience_widened\`),
  its grants and its actors; \`scope\` may only name scopes it has (\`invalid_scope\`,
  \`scope_widened\`; left out, all of them), and it lives no longer than it has left. Every grant it
  came from must still be active (\`invalid_grant\`, \`grant_inactive\`). A parent bound to a DPoP
  key needs a proof made with that key, and the new token is bound to it too. The new token names
  its parent and every token before it in \`ancestor_jtis\`, and dies with any of them.

  **Delegation.** With \`actor_token\` (an attestation, or an access token of this service that is
  DPoP-bound or issued for the audience that is the issuer), the token issued keeps \`sub\` the
  subject and names the actor in \`act\` (RFC 8693 section 4.1), nested after the actors the subject
  token already had. Only grants of the subject whose \`mayAct\` matches the actor contribute; a
  subject token of ours needs every grant it came from to let the actor act (\`invalid_grant\`,
  \`actor_not_allowed\`). The chain is at most \`delegation.maxChainDepth\` actors
  (\`delegation_chain_too_long\`). Revoking an actor's identity revokes every token naming it in
  \`act\`; an actor token of ours joins \`ancestor_jtis\`.
`

/** The 400 examples of refusals of narrowing and delegation. */
export const DELEGATION_ERROR_EXAMPLES: Record<string, { summary: string; value: OAuthErrorBody }> = {
  scope_widened: {
    summary: 'A token exchanged from one of ours asks for a scope its subject_token does not have',
    value: {
      error: 'invalid_scope',
      error_description:
        'scope "ledger:write" is not in the subject_token: a token exchanged from an access token can only narrow its scopes',
      error_reason: 'scope_widened',
    },
  },
  actor_not_allowed: {
    summary: "No grant of the subject lets the actor act for it (its identity matches none of the grants' mayAct)",
    value: {
      error: 'invalid_grant',
      error_description:
        'no grant lets spiffe://example.org/k8s/prod/ns/agents/sa/assistant act for spiffe://example.org/k8s/prod/ns/payments/sa/api (mayAct)',
      error_reason: 'actor_not_allowed',
    },
  },
}
