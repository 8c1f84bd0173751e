import type { AttestedIdentity } from '../attestors/attestor.js'
import { InvalidGrantError, ServiceUnavailableError } from '../errors.js'
import type { GrantCatalog } from '../grants/grant-catalog.js'
import { decide, type GrantDecision } from '../grants/grant-matcher.js'
import type { LedgerStore } from '../ledger/ledger-store.js'
import type { Clock } from '../lib/clock.js'
import type { RegistrationStore } from '../replay/registration-store.js'
import type { ReplayGuard } from '../replay/replay-guard.js'
import type { RevocationChecker } from '../revocation/revocation-cache.js'
import type { RevocationTarget } from '../revocation/revocation.js'
import type { TokenSigner } from '../tokens/token-signer.js'
import type { SourceHasher } from '../tokens/source-hash.js'
import type { ActiveKey } from '../keys/key-ring.js'
import type { ParsedTokenExchange } from './token-request.js'
import type { DpopProof } from '../dpop/dpop-proof.js'
import type { Settings } from '../lib/settings-holder.js'
import { NO_OBSERVATION, type AttestorRouting, type ExchangeObservation } from '../observability/exchange-observer.js'
import { TOKEN_TYPE } from '../oauth/token-types.js'
import { bindingFor } from './binding.js'
import { delegationChain, ensureEveryGrantLetsAct, ensureUsableAsActor, grantsLettingAct } from './delegation.js'
import { lifeLeft, narrowedDecision } from './narrowing.js'
import { lineageFields, lineageFor, revocationTargetsFor } from './lineage.js'
import { claimsFor } from './token-claims.js'
import {
  actorsOf,
  attested,
  attestorOf,
  boundKeyOf,
  presentedAccessToken,
  requesterOf,
  subjectOf,
  type OurTokens,
  type Presented,
} from './presented.js'

export interface AttestationVerifier {
  /** `routing` is told which attestor takes the attestation, before it is verified. */
  attest(attestation: string, attestationType: string, routing?: AttestorRouting): Promise<AttestedIdentity>
}

/** What a reload may change for the exchange (src/reload/runtime-settings.ts), taken once per exchange. */
export interface ExchangeSettings {
  attestors: AttestationVerifier
  /** tokens.defaultTtlSeconds */
  defaultTtlSeconds: number
}

/**
 * How many tokens one attested identity may ask for: spent once its attestation verifies, so every
 * workload behind one address has its own budget, and one identity has one budget whatever addresses
 * it comes from. Throws RateLimitedError past it.
 */
export interface IdentityBudget {
  spend(subject: string): Promise<void>
}

export interface TokenExchangeDependencies {
  settings: Settings<ExchangeSettings>
  /** Absent when `limits.tokenRequestsPerIdentityPerMinute` is 0. */
  identityBudget?: IdentityBudget
  grants: GrantCatalog
  revocations: RevocationChecker
  ledger: LedgerStore
  replay: ReplayGuard
  registrations: RegistrationStore
  signer: TokenSigner
  /** Hashes the identity's source ids into the token (`src_h`), so resource servers can match source revocations. */
  sourceHasher: SourceHasher
  clock: Clock
  issuer: string
  maxTtlSeconds: number
  /** Our own access tokens, as a `subject_token` to narrow or an `actor_token`. */
  ourTokens: OurTokens
  /** delegation.maxChainDepth */
  maxChainDepth: number
}

export interface ExchangeContext {
  clientAddress: string
  requestId: string
  /** Told who asked and where each phase starts and ends (metrics, the refusal log, traces). */
  observation?: ExchangeObservation
  /** The request's DPoP proof, already verified (src/dpop/dpop-proof.ts): the token is bound to its key. */
  dpop?: DpopProof
}

export interface IssuedToken {
  accessToken: string
  issuedTokenType: string
  expiresIn: number
  /** Space-separated; empty when no scope was granted. */
  scope: string
  jti: string
  subject: string
  audience: string
  /** `DPoP` when the token is bound to a key (its `cnf.jkt`), `Bearer` otherwise. */
  tokenType: 'DPoP' | 'Bearer'
}

/**
 * The hot path, in the order of the protocol: attest, match grants, check revocation, mint, record,
 * sign. Every refusal is a typed OAuth error; a store that cannot answer stops the exchange (503).
 */
export class TokenExchange {
  constructor(private readonly deps: TokenExchangeDependencies) {}

  async exchange(request: ParsedTokenExchange, context: ExchangeContext): Promise<IssuedToken> {
    // Once: an exchange under way when the configuration is reloaded finishes with the settings it began with.
    const settings = this.deps.settings.current()
    // Phases are marked inline, not by wrapping each step in a closure: this is the hot path. A phase
    // that throws is left open, and the observation ends it when the answer goes out.
    const observed = context.observation ?? NO_OBSERVATION
    observed.phaseStarted('attest')
    const subject = await this.present(request.subjectToken, request.subjectTokenType, 'subject_token', settings, observed)
    const subjectName = subjectOf(subject)
    const { attestor, kind } = attestorOf(subject)
    observed.attested(subjectName, attestor, kind)
    const actor = request.actor && (await this.present(request.actor.token, request.actor.tokenType, 'actor_token', settings))
    if (actor) ensureUsableAsActor(actor, this.deps.issuer, this.deps.grants)
    // Before the single-use claims: a requester over its budget keeps its attestations for the retry.
    await this.deps.identityBudget?.spend(requesterOf(subject, actor))
    await this.ensureFirstUse(subject)
    if (actor) await this.ensureFirstUse(actor)
    observed.phaseEnded('attest')
    observed.phaseStarted('grants')
    const now = this.deps.clock.now()
    const actors = actor ? delegationChain(subjectOf(actor), actorsOf(subject), this.deps.maxChainDepth) : actorsOf(subject)
    const decision = withinLifeOf(actor, await this.decide(subject, actors, request, now), now)
    const jkt = bindingFor(
      decision,
      context.dpop,
      [boundKeyOf(subject), boundKeyOf(actor)].filter((k) => k !== undefined),
    )
    observed.phaseEnded('grants')
    observed.phaseStarted('revocation_check')
    // Taken now, so the ledger records the key the token is signed with, and a revoked key is refused below.
    const key = this.deps.signer.currentKey()
    const lineage = lineageFor(subject, actor, actors, decision.grantIds)
    await this.ensureNotRevoked(revocationTargetsFor(subjectName, decision.grantIds, lineage, key.kid), key)
    observed.phaseEnded('revocation_check')
    // Every check that can refuse the request runs before the registration, which may be spent for good.
    const claims = claimsFor(this.deps, subjectName, decision, lineage, now, {
      defaultTtlSeconds: settings.defaultTtlSeconds,
      requestedSeconds: request.requestedLifetimeSeconds,
    })
    if (jkt !== undefined) claims.cnf = { jkt }
    await this.ensureRegistered(subject, context, observed)
    if (actor) await this.ensureRegistered(actor, context, observed)
    observed.phaseStarted('ledger_commit')
    await this.deps.ledger.record({
      jti: claims.jti,
      subject: subjectName,
      attestor,
      attestorKind: kind,
      attestationFingerprint: subject.fingerprint,
      sources: [...lineage.sources],
      audience: decision.audience,
      scopes: decision.scopes,
      grantIds: decision.grantIds,
      issuedAt: new Date(claims.iat * 1000),
      expiresAt: new Date(claims.exp * 1000),
      clientAddress: context.clientAddress,
      requestId: context.requestId,
      kid: key.kid,
      ...(jkt === undefined ? {} : { jkt }),
      ...lineageFields(subject, lineage),
    })
    observed.phaseEnded('ledger_commit')
    observed.phaseStarted('sign')
    const accessToken = await this.deps.signer.sign(key, claims)
    observed.phaseEnded('sign')
    return {
      accessToken,
      issuedTokenType: request.requestedTokenType,
      expiresIn: claims.exp - claims.iat,
      scope: decision.scopes.join(' '),
      jti: claims.jti,
      subject: subjectName,
      audience: decision.audience,
      tokenType: jkt === undefined ? 'Bearer' : 'DPoP',
    }
  }

  /** An attestation, verified by its attestor, or one of our access tokens, verified as introspection does. */
  private async present(
    token: string,
    tokenType: string,
    parameter: 'subject_token' | 'actor_token',
    settings: ExchangeSettings,
    routing?: AttestorRouting,
  ): Promise<Presented> {
    if (tokenType === TOKEN_TYPE.accessToken) return presentedAccessToken(this.deps.ourTokens, token, parameter)
    return attested(await settings.attestors.attest(token, tokenType, routing), token)
  }

  /**
   * What the token may carry. From an attestation: what its grants allow, and with an actor only the
   * grants that let the actor act. From one of our tokens: at most what that token has.
   */
  private async decide(subject: Presented, actors: readonly string[], request: ParsedTokenExchange, now: number): Promise<GrantDecision> {
    const actor = request.actor ? actors[0] : undefined
    if (subject.kind === 'access_token') {
      const narrowed = narrowedDecision(subject.token, this.deps.grants, request.audience, request.scopes, Math.floor(now / 1000))
      if (actor !== undefined) ensureEveryGrantLetsAct(narrowed.grants, actor, subject.token.entry.subject)
      return narrowed
    }
    const { identity } = subject
    const candidates = await this.deps.grants.candidatesFor(identity.subject)
    return decide(
      identity,
      actor === undefined ? candidates : grantsLettingAct(candidates, actor, identity.subject),
      new Date(now),
      request.audience,
      request.scopes,
    )
  }

  /** A single-use attestation is claimed before anything is granted, so a replay gets nothing at all. */
  private async ensureFirstUse(presented: Presented): Promise<void> {
    if (presented.kind !== 'attestation') return
    const { identity } = presented
    if (!identity.singleUse) return
    if (!(await this.deps.replay.claim(identity.singleUse.key, identity.singleUse.until))) {
      throw new InvalidGrantError('this attestation was already used: single-use attestations are accepted once', 'replayed')
    }
  }

  /**
   * Last before recording and signing (after the lifetime check in claimsFor too), so a refusal for any
   * other reason never uses up an instance's registration.
   */
  private async ensureRegistered(presented: Presented, context: ExchangeContext, observed: ExchangeObservation): Promise<void> {
    if (presented.kind !== 'attestation') return
    const { identity } = presented
    if (identity.boundAddress !== undefined && identity.boundAddress !== withoutMappedPrefix(context.clientAddress)) {
      throw new InvalidGrantError(
        `this attestation is bound to the address ${identity.boundAddress}; the request came from ${context.clientAddress}`,
        'address_mismatch',
      )
    }
    if (!identity.registration) return
    observed.phaseStarted('registration')
    await this.deps.registrations.admit({
      attestor: identity.attestor,
      ...identity.registration,
      clientAddress: context.clientAddress,
      now: new Date(this.deps.clock.now()),
    })
    observed.phaseEnded('registration')
  }

  private async ensureNotRevoked(targets: RevocationTarget[], key: ActiveKey): Promise<void> {
    const revoked = await this.deps.revocations.findRevoked(targets)
    // Not the client's doing: the revocation reached this instance before the key that replaces it did.
    if (revoked?.kind === 'key') {
      throw new ServiceUnavailableError(
        `signing key ${key.kid} is revoked, and this instance has not switched to its replacement yet`,
        'keys_stale',
      )
    }
    if (revoked) throw new InvalidGrantError(`${describe(revoked)} is revoked`, 'revoked')
  }
}

/**
 * A token got with an actor's token of ours lives no longer than that token: it is in its
 * `ancestor_jtis`, and a revocation of that token expires with it. (One narrowed from a subject
 * token already lives no longer than its parent: src/exchange/narrowing.ts.)
 */
function withinLifeOf(actor: Presented | undefined, decision: GrantDecision, nowMillis: number): GrantDecision {
  if (actor?.kind !== 'access_token') return decision
  return {
    ...decision,
    maxTtlSeconds: Math.min(decision.maxTtlSeconds, lifeLeft(actor.token, Math.floor(nowMillis / 1000), 'actor_token')),
  }
}

/** A dual-stack listener reports IPv4 clients as `::ffff:10.0.0.1`. */
function withoutMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function describe(target: RevocationTarget): string {
  switch (target.kind) {
    case 'subject':
      return `the identity ${target.value}`
    case 'grant':
      return `grant ${target.value}`
    case 'source':
      return `the attestation source ${target.value}`
    case 'token':
      return `token ${target.value}`
    case 'key':
      return `signing key ${target.value}`
  }
}
