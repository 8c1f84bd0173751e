import type { Test } from 'tap'
import { ISSUER, startTestService, TRUST_DOMAIN, type TestService, type TestServiceOptions } from '../../../../test/support/service.js'
import { createVerifier, JWT_TOKEN_TYPE, tokenSource, type TokenSource, type TokenSourceOptions, type Verifier } from '../../src/index.js'

/**
 * DPoP end to end, on the real service (Postgres, Redis): a grant of `ledger:read ledger:list` on
 * `ledger-api`, the service listening on a port of its own, and token sources and a verifier that
 * reach it there while proofs name the issuer's URL (what the service checks `htu` against).
 */
export interface DpopSetup {
  sts: TestService
  /** Every request to the token endpoint, in order: its DPoP header (undefined: none). */
  proofsSent: (string | undefined)[]
  source(options?: Partial<TokenSourceOptions>): TokenSource
  verifier(): Verifier
}

export const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

export async function dpopSetup(t: Test, options: TestServiceOptions = {}): Promise<DpopSetup> {
  const sts = await startTestService(t, { ...options, config: { limits: { adminRequestsPerMinute: 0 }, ...options.config } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:list'],
    owner: 'team-ledger',
  })
  const proofsSent: (string | undefined)[] = []
  // Requests go to the listening port; the URL the client names (and proves) stays the issuer's.
  const fetch: typeof globalThis.fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    if (String(input) === `${ISSUER}/oauth2/token`) proofsSent.push(headers.get('dpop') ?? undefined)
    return globalThis.fetch(String(input).replace(ISSUER, address), init)
  }
  return {
    sts,
    proofsSent,
    source(extra = {}) {
      const source = tokenSource({
        sts: ISSUER,
        attestation: async () => ({ subjectToken: await sts.cluster.serviceAccountToken(), subjectTokenType: JWT_TOKEN_TYPE }),
        clock: sts.clock,
        fetch,
        ...extra,
      })
      t.teardown(() => source.close())
      return source
    },
    verifier() {
      const verifier = createVerifier({
        issuer: ISSUER,
        audience: 'ledger-api',
        jwks: { uri: `${address}/.well-known/jwks.json` },
        revocations: false,
        now: () => sts.clock.now(),
      })
      t.teardown(() => verifier.close())
      return verifier
    },
  }
}

/** The claims of a JWT, unverified: for comparing what was issued. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
}
