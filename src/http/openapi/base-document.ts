import type { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { RevocationJson, RevocationNotice } from '../../revocation/revocation.js'
import { AccessTokenClaims, AccessTokenHeader } from '../../tokens/access-token.js'
import { RevocationEvent } from '../admin/revocation-operations.js'
import type { ApiTag } from './operation.js'

/**
 * What the API description says that belongs to no one route: who it is for and how it works as a
 * whole, the tags (in the order the document lists them), and how admin requests authenticate.
 * Everything about a route is declared with the route (its `*-operations.ts`).
 */

export const API_INFO = {
  title: 'Seed STS',
  version: '0.1.0',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  summary: 'Short-lived workload tokens through OAuth 2.0 Token Exchange (RFC 8693).',
  description: prose`
      Seed STS swaps a credential a workload already has (today: a Kubernetes projected
      service-account token) for a short-lived JWT access token addressed to one service.

      **For workload owners.** Mount a projected service-account token whose audience is the STS
      audience your platform team configured, post it to \`POST /oauth2/token\`, and send the
      \`access_token\` you get back as \`Authorization: Bearer ...\` to the target service. Tokens live
      minutes (5 by default): fetch a new one before \`expires_in\` runs out, never cache one on disk.

      **For service owners (resource servers).** Verify tokens locally against
      \`GET /.well-known/jwks.json\` (cache it, refetch on an unknown \`kid\`): check the signature, the
      header \`typ\` is \`at+jwt\`, \`iss\` is the issuer from \`GET /.well-known/oauth-authorization-server\`,
      \`aud\` is your service's name, and \`exp\`/\`nbf\`. \`sub\` is the workload's SPIFFE ID and \`scope\`
      the space-separated permissions granted to it. The claims are described in the
      \`AccessTokenClaims\` schema, a stable contract: \`grants\` and \`src_h\` (keyed hashes of the
      token's attestation sources) let you decide grant and source revocations offline, against the
      revocations you follow with an admin token of the narrow role \`revocations:subscribe\` (the
      \`@seed-sts/client\` verifier does all of this).

      **For platform teams.** Nothing is allowed by default. A *grant* (the \`/v1/grants\` admin API)
      says which workload identities may get tokens for which audiences and scopes, and for how long.
      Every issued token is recorded on a ledger with the grants that allowed it; search it with
      \`GET /v1/ledger\`. A *revocation* (\`/v1/revocations\`) stops an identity, a grant, an attestation
      source or one token at once on every instance; resource servers can follow revocations as they
      happen on \`GET /v1/revocations/stream\`, or ask about one token with \`POST /oauth2/introspect\`.
      Every change made through the admin API is on the audit log (\`GET /v1/audit\`). Each admin
      operation needs one *role* (its \`x-seed-sts-role\`); the bootstrap admin token has them all, and
      \`/v1/admin-tokens\` makes tokens with only some of them.

      **Errors.** The OAuth endpoints (\`/oauth2/...\`) answer errors as RFC 6749 section 5.2 JSON
      (\`{"error", "error_description", "error_reason"}\`); every other endpoint answers RFC 9457
      \`application/problem+json\`, with the same machine-readable \`reason\` as an extension member.
      Switch on \`error\` (or \`status\`) and the reason, never on the description (see \`ErrorReason\`).
      Every response carries \`X-Request-Id\`, the id the ledger and the audit log record: a new UUID,
      or, if the request's own \`X-Request-Id\` header is 1 to 128 of \`A-Z a-z 0-9 . _ : -\`, that value
      marked \`client:\` (\`client:req-123\`), so a client's id never passes for one the service made.
      Quote it when you report a problem.
    `,
}

export const API_SERVERS = [{ url: 'http://localhost:8080', description: 'A local instance (`npm start` with the development defaults)' }]

/** The tags, in the order of the document; each operation has one, and the paths follow this order. */
export const API_TAGS: { name: ApiTag; description: string }[] = [
  { name: 'token', description: 'Token exchange and revocation (RFC 7009), the endpoints workloads call.' },
  { name: 'introspection', description: 'Token introspection, for resource servers that want revocations to count at once.' },
  { name: 'discovery', description: 'Metadata and keys resource servers and client libraries read.' },
  { name: 'health', description: 'Probes for the orchestrator.' },
  { name: 'metrics', description: 'Prometheus metrics, for the scraper.' },
  {
    name: 'console',
    description: 'The incident console: a page for people, which calls the admin API with the admin token pasted into it.',
  },
  {
    name: 'grants',
    description: prose`
      Who may get which tokens. Changes apply on the instance that made them before it answers, and
      reach every other instance through the grant change feed, within milliseconds (at worst
      \`grants.catchUpIntervalMs\`, 1 s by default, when a message is lost). Every change is on the audit log.
    `,
  },
  {
    name: 'revocations',
    description: prose`
      Stopping identities, grants, attestation sources and single tokens, at once and everywhere.
      Revocations are durable in the database and distributed to every instance through Redis.
    `,
  },
  { name: 'ledger', description: 'The record of every issued token, for incident response.' },
  {
    name: 'identities',
    description: prose`
      The inventory of workload identities: every identity that got a token, what it obtained through
      which grant, and how many tokens a day, kept by the ledger's writer as it commits and kept past
      the ledger's retention.
    `,
  },
  {
    name: 'reports',
    description: prose`
      Least privilege over time: what each grant gave against what it grants, identities gone
      quiet, grants nobody owns, each finding with the requests that would tighten it.
    `,
  },
  {
    name: 'registrations',
    description: prose`
      Instances registered at their first attestation (AWS), bound to the nonce they chose: seeing
      them, and forgetting one so it registers afresh. Unused ones are tidied after
      \`registrations.tidyAfterDays\` (30 by default).
    `,
  },
  { name: 'audit', description: 'Who changed what through the admin API, with the state before and after.' },
  { name: 'admin-tokens', description: 'Admin tokens limited to some roles, for resource servers, pipelines and responders.' },
  { name: 'config', description: 'Reloading the configuration on every instance without a restart.' },
  {
    name: 'keys',
    description: prose`
      The keys tokens are signed with: their life (next, current, retired, removed), rotation on
      demand, and emergency revocation. Rotation also happens on a schedule (\`keys.rotateEveryDays\`).
    `,
  },
]

/** The one security scheme: admin tokens, on the admin API and introspection. Operations name it through their role. */
export const ADMIN_TOKEN_SCHEME = 'adminToken'

export const API_SECURITY_SCHEMES = {
  [ADMIN_TOKEN_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    description: prose`
      \`Authorization: Bearer <token>\`, with either of:
      - the bootstrap token configured with \`STS_ADMIN_TOKEN\` (or \`admin.token\`), at least 24
        characters, which has every role. Without one configured, only scoped tokens work;
      - a scoped token made with \`POST /v1/admin-tokens\` (\`sts_admin_...\`), which has the roles it
        was made with. A revoked or expired one stops working within 5 s on every instance (each
        instance trusts a token it has looked up for that long);
      - with \`admin.oidc\` configured, a person's ID token or JWT access token from the
        organization's identity provider: signed with a key of the provider's JWKS (an asymmetric
        algorithm of \`admin.oidc.algorithms\`; never \`none\` or HMAC), its \`iss\` and \`aud\` the
        configured ones, within its lifetime (\`admin.oidc.clockSkewSeconds\` of skew), its \`typ\`
        absent, \`JWT\` or \`at+jwt\`; refused otherwise with 401 \`oidc_token_invalid\`. Its
        groups (\`admin.oidc.groupsClaim\`) give its roles and its team scope, as
        \`admin.oidc.groups\` maps them; a token none of whose groups is mapped is refused with 403
        \`oidc_groups_unmapped\`. The audit log names the person \`oidc:<name>\` (from
        \`admin.oidc.nameClaim\`). It is verified on every request, and stops working when it expires.

      Each admin operation needs one role, named in its \`x-seed-sts-role\` and its description. A
      token without it is refused with 403 (\`the admin token <name> does not have the role
      <role>\`; a problem, or \`insufficient_scope\` from introspection). The roles:
      - \`grants:read\`, \`grants:write\`: read, and create, replace or disable grants;
      - \`revocations:read\`, \`revocations:write\`: read and follow revocations, and revoke or lift;
      - \`revocations:subscribe\`: follow revocations only (the listing and the stream), as notices
        without reasons, actors or raw source ids: what a resource server's verifier needs;
      - \`ledger:read\`: search the token ledger, and read the inventory of identities rolled up from it;
      - \`reports:read\`: read the least-privilege report (grants against what they gave, to which identities);
      - \`registrations:read\`, \`registrations:write\`: list and read instance registrations, and forget them;
      - \`audit:read\`: read the audit log;
      - \`admin-tokens:write\`: make, list and revoke admin tokens. It can make a token with any
        role, so whoever has it can get every other role;
      - \`introspect\`: \`POST /oauth2/introspect\`, for resource servers;
      - \`config:reload\`: \`POST /v1/admin/reload\`, reload the configuration on every instance.
      - \`keys:read\`, \`keys:write\`: list the signing keys, and rotate, revoke or re-seal them.

      Every \`/v1\` operation is rate limited per client address (\`limits.adminRequestsPerMinute\`,
      600 by default; 0 turns the limit off) before the token is checked, so failed guesses of the
      token (and refused tokens of the identity provider) count too: over the limit the answer is
      429, with \`Retry-After\`, whatever the request.
    `,
  },
}

/**
 * Schemas no request or response body is, documented for the clients that read them: the token's
 * parts, a stream event (whose data refers to Revocation by name, so Revocation comes with it).
 */
export const UNREFERENCED_SCHEMAS: z.ZodType[] = [AccessTokenHeader, AccessTokenClaims, RevocationEvent, RevocationJson, RevocationNotice]
