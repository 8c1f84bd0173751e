import type { z } from 'zod'
import type { GrantInput as GrantInputSchema, grantToJson } from '../grants/grant.js'
import type { ledgerEntryToJson } from '../ledger/ledger-search.js'
import type { IdentityDetailJson, IdentityJson } from '../inventory/inventory-search.js'
import type { LeastPrivilegeReportJson } from '../reports/report-json.js'
import type { registrationToJson } from '../replay/registration.js'
import type { KeyRevoked, KeyRotated, KeysResealed } from '../http/admin/key-operations.js'
import type { SigningKeyJson } from '../keys/signing-key.js'
import type { AdminTokenInput as AdminTokenInputSchema, AdminTokenJson } from '../admin-tokens/admin-token.js'
import {
  REVOCABLE_KINDS,
  REVOCATION_KINDS,
  type RevocationInput as RevocationInputSchema,
  type RevocationKind,
  type revocationToJson,
} from '../revocation/revocation.js'
import { describeFetchError, listOf, objectOf, parseJson, problemOf } from './answers.js'
import { ApiError, UnreachableError } from './errors.js'

/**
 * The admin API as the CLI sees it. The wire shapes are the service's own (type-only imports of its
 * JSON mappers and request schemas), so the CLI cannot drift from what the service sends and accepts.
 */
export type Grant = ReturnType<typeof grantToJson>
/** `POST /v1/grants`: what is left out takes the service's default. */
export type GrantInput = z.input<typeof GrantInputSchema>
/** A guardrail a grant breaks (README.md, "Guardrails"). */
export interface GuardrailFinding {
  rule: string
  field: string
  reason: string
}
export interface GrantValidation {
  allowed: boolean
  denied: GuardrailFinding[]
  warnings: GuardrailFinding[]
}
export { REVOCABLE_KINDS, REVOCATION_KINDS }
export type { RevocationKind }
export type RevocableKind = (typeof REVOCABLE_KINDS)[number]
export type SigningKey = SigningKeyJson
export type { KeyRevoked, KeyRotated, KeysResealed }
export type Revocation = ReturnType<typeof revocationToJson>
export type RevocationInput = z.input<typeof RevocationInputSchema>

export interface RevocationResult {
  revocation: Revocation
  /** Tokens on the ledger, not yet expired, that the revocation now stops; null when they could not be counted. */
  liveTokensCutOff: number | null
  /** Why they could not be counted (the revocation is in force all the same). */
  liveTokensCutOffUnavailable?: string
  /** True when the target was revoked already: `revocation` is the standing one, unchanged (answered 200). */
  alreadyRevoked?: boolean
}

export type LedgerEntry = ReturnType<typeof ledgerEntryToJson>
export type Registration = ReturnType<typeof registrationToJson>
export type Identity = IdentityJson
export type IdentityDetail = IdentityDetailJson
export type LeastPrivilegeReport = LeastPrivilegeReportJson
export type AdminToken = AdminTokenJson
export type AdminTokenInput = z.input<typeof AdminTokenInputSchema>
/** `POST /v1/admin-tokens`: `token` is the secret, in this answer only. */
export interface AdminTokenCreated {
  adminToken: AdminToken
  token: string
}

export interface GrantQuery {
  owner?: string
  subject?: string
  limit?: number
  cursor?: string
}
export interface RevocationQuery {
  kind?: RevocationKind
  active?: boolean
  cursor?: string
}
export interface LedgerQuery {
  subject?: string
  grant?: string
  source?: string
  audience?: string
  actor?: string
  since?: string
  until?: string
  live?: boolean
  limit?: number
  cursor?: string
}

export interface LedgerVerifyQuery {
  since?: string
  until?: string
  /** `chain:seq:hash`, as anchored. */
  heads?: string[]
}

/** The answer of POST /v1/ledger:verify (openapi.yaml, LedgerVerification). */
export interface LedgerVerification {
  intact: boolean
  range: { since: string | null; until: string | null }
  checked: { chains: number; batches: number; rows: number }
  findings: {
    kind: string
    chainId?: string
    seq?: number
    jti?: string
    issuedAt?: string
    fromSeq?: number
    toSeq?: number
    heldSeq?: number | null
    anchoredSeq?: number
  }[]
  findingCount: number
  retention: { drops: unknown[]; batches: number; rows: number }
  unchained: { rows: number; chainedSince: string | null; chainedUntil: string | null }
}

export interface RegistrationQuery {
  attestor?: string
  instance?: string
  lastSeenBefore?: string
  lastSeenAfter?: string
  limit?: number
  cursor?: string
}

export interface IdentityQuery {
  subject?: string
  attestor?: string
  source?: string
  lastSeenBefore?: string
  lastSeenAfter?: string
  limit?: number
  cursor?: string
}

export interface IdentityPage {
  identities: Identity[]
  nextCursor?: string
}

export interface RegistrationPage {
  registrations: Registration[]
  nextCursor?: string
}
export interface GrantPage {
  grants: Grant[]
  nextCursor?: string
}
export interface RevocationPage {
  revocations: Revocation[]
  nextCursor?: string
}
export interface LedgerPage {
  entries: LedgerEntry[]
  nextCursor?: string
}

export type Fetch = typeof globalThis.fetch

export interface AdminClientOptions {
  /** Without a trailing slash; may include a path prefix. */
  baseUrl: string
  token: string
  timeoutMs: number
  fetch?: Fetch
}

type Query = Record<string, string | number | boolean | undefined>

/** A small typed client of the admin API. Errors: ApiError (an answer that refuses), UnreachableError (no answer). */
export class AdminClient {
  private readonly fetch: Fetch

  constructor(private readonly options: AdminClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch
  }

  async listGrants(query: GrantQuery): Promise<GrantPage> {
    return listOf(await this.request('GET', '/v1/grants', { query: { ...query } }), 'grants')
  }

  async getGrant(id: string): Promise<Grant> {
    return objectOf(await this.request('GET', `/v1/grants/${encodeURIComponent(id)}`))
  }

  /** The grant created, with the guardrails that warned about it (`warnings`, absent when none did). */
  async createGrant(input: GrantInput): Promise<Grant & { warnings?: GuardrailFinding[] }> {
    return objectOf(await this.request('POST', '/v1/grants', { body: input }))
  }

  /** `POST /v1/grants:validate`: what creating the grant would do, nothing saved. */
  async validateGrant(input: GrantInput): Promise<GrantValidation> {
    return objectOf(await this.request('POST', '/v1/grants:validate', { body: input }))
  }

  /** `DELETE /v1/grants/{id}` disables: the grant stays on record. */
  async disableGrant(id: string): Promise<Grant> {
    return objectOf(await this.request('DELETE', `/v1/grants/${encodeURIComponent(id)}`))
  }

  async revoke(input: RevocationInput): Promise<RevocationResult> {
    return objectOf(await this.request('POST', '/v1/revocations', { body: input }), 'revocation')
  }

  async listRevocations(query: RevocationQuery): Promise<RevocationPage> {
    // `active=false` is not "inactive only" to every reader; only ever send the filter when it is on.
    const { active, ...rest } = query
    return listOf(await this.request('GET', '/v1/revocations', { query: { ...rest, active: active ? true : undefined } }), 'revocations')
  }

  async liftRevocation(id: string, reason: string): Promise<{ revocation: Revocation }> {
    return objectOf(await this.request('DELETE', `/v1/revocations/${encodeURIComponent(id)}`, { body: { reason } }), 'revocation')
  }

  async listLedger(query: LedgerQuery): Promise<LedgerPage> {
    const { live, ...rest } = query
    return listOf(await this.request('GET', '/v1/ledger', { query: { ...rest, live: live ? true : undefined } }), 'entries')
  }

  /** `POST /v1/ledger:verify`: may take a while on a whole ledger (the CLI's --timeout). */
  async verifyLedger(query: LedgerVerifyQuery): Promise<LedgerVerification> {
    const body = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined))
    return objectOf<LedgerVerification>(await this.request('POST', '/v1/ledger:verify', { body }))
  }

  async listIdentities(query: IdentityQuery): Promise<IdentityPage> {
    return listOf(await this.request('GET', '/v1/identities', { query: { ...query } }), 'identities')
  }

  async leastPrivilegeReport(query: { days?: number; expiringWithinDays?: number }): Promise<LeastPrivilegeReport> {
    return listOf(await this.request('GET', '/v1/reports/least-privilege', { query: { ...query } }), 'findings')
  }

  /** `GET /v1/identity?subject=...`: a SPIFFE ID holds slashes, so it goes in the query. */
  async getIdentity(subject: string): Promise<{ identity: IdentityDetail }> {
    return objectOf(await this.request('GET', '/v1/identity', { query: { subject } }), 'identity')
  }

  async listRegistrations(query: RegistrationQuery): Promise<RegistrationPage> {
    return listOf(await this.request('GET', '/v1/registrations', { query: { ...query } }), 'registrations')
  }

  async getRegistration(attestor: string, instance: string): Promise<{ registration: Registration }> {
    return objectOf(await this.request('GET', registrationPath(attestor, instance)), 'registration')
  }

  /** `DELETE /v1/registrations/{attestor}/{instance}`: the instance registers afresh at its next attestation. */
  async forgetRegistration(attestor: string, instance: string, reason: string): Promise<{ registration: Registration }> {
    return objectOf(await this.request('DELETE', registrationPath(attestor, instance), { body: { reason } }), 'registration')
  }

  async listKeys(): Promise<{ keys: SigningKey[] }> {
    return objectOf(await this.request('GET', '/v1/keys'))
  }

  async rotateKeys(): Promise<KeyRotated> {
    return objectOf(await this.request('POST', '/v1/keys/rotate'), 'key')
  }

  async resealKeys(): Promise<KeysResealed> {
    return objectOf(await this.request('POST', '/v1/keys/reseal'))
  }

  async revokeKey(kid: string, reason: string): Promise<KeyRevoked> {
    return objectOf(await this.request('POST', `/v1/keys/${encodeURIComponent(kid)}/revoke`, { body: { reason } }), 'key')
  }

  async listAdminTokens(): Promise<{ adminTokens: AdminToken[] }> {
    return listOf(await this.request('GET', '/v1/admin-tokens'), 'adminTokens')
  }

  async createAdminToken(input: AdminTokenInput): Promise<AdminTokenCreated> {
    return objectOf(await this.request('POST', '/v1/admin-tokens', { body: input }), 'adminToken')
  }

  async revokeAdminToken(id: string): Promise<{ adminToken: AdminToken }> {
    return objectOf(await this.request('DELETE', `/v1/admin-tokens/${encodeURIComponent(id)}`), 'adminToken')
  }

  private async request(method: string, path: string, { query, body }: { query?: Query; body?: unknown } = {}): Promise<unknown> {
    const url = new URL(this.options.baseUrl + path)
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    let text: string
    try {
      // One deadline for the answer and its body: a service that stalls midway counts as unreachable.
      const signal = AbortSignal.timeout(this.options.timeoutMs)
      response = await this.fetch(url, { method, headers, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
      text = await response.text()
    } catch (error) {
      throw new UnreachableError(
        `cannot reach the service at ${this.options.baseUrl} (${describeFetchError(error, this.options.timeoutMs)})`,
      )
    }
    const json = parseJson(text)
    const requestId = response.headers.get('x-request-id') ?? undefined
    if (!response.ok) throw new ApiError(problemOf(json, response), requestId)
    if (json === undefined) {
      throw new ApiError(
        { status: response.status, detail: `the service answered ${response.status} with a body that is not JSON` },
        requestId,
      )
    }
    return json
  }
}

/** An AWS instance is `account/region/instance-id`: its slashes are encoded, so it stays one path segment. */
function registrationPath(attestor: string, instance: string): string {
  return `/v1/registrations/${encodeURIComponent(attestor)}/${encodeURIComponent(instance)}`
}
