import { createHash } from 'node:crypto'
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, jwtVerify, type JWK, type JWTPayload } from 'jose'
import { TokenRefusedError, VerifierUnavailableError } from './errors.js'

/**
 * The resource server's check of a DPoP proof (RFC 9449 sections 4.3 and 7.1) sent with a bound
 * access token: one proof, typed `dpop+jwt`, an accepted asymmetric algorithm, a public `jwk` whose
 * thumbprint is the token's `cnf.jkt` and that verifies the signature, `htm` and `htu` of this very
 * request, `iat` within the window, `ath` the token's hash, and a `jti` not seen before. The proof is
 * untrusted until its signature is checked; the jti record is this process's memory, bounded.
 */

export interface DpopCheckSettings {
  /** Asymmetric JWS algorithms a proof may be signed with. */
  algorithms: readonly string[]
  /** How far `iat` may be from now, either way; a jti is remembered that long after its `iat`. */
  proofWindowSeconds: number
  /** At most this many jtis are remembered; past it (all still in their window) proofs are refused with 503. */
  maxProofsRemembered: number
}

/** What the proof must match: the request, and the token it comes with. */
export interface ProofTarget {
  method: string
  /** The URL the client called, as it named it (scheme, host, path); query and fragment are ignored. */
  url: string | URL
  accessToken: string
  /** The token's `cnf.jkt`. */
  jkt: string
}

const MAX_PROOF_LENGTH = 8192
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
/** Members only a private or a symmetric key has (RFC 7518 section 6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

export class DpopProofCheck {
  /** `jkt:jti` -> until when (ms) it is remembered; insertion order is roughly expiry order. */
  private readonly seen = new Map<string, number>()

  constructor(
    private readonly settings: DpopCheckSettings,
    private readonly now: () => number,
  ) {}

  get remembered(): number {
    return this.seen.size
  }

  /** Throws TokenRefusedError (`invalid_dpop_proof`) naming the first fault; VerifierUnavailableError when the jti record is full. */
  async check(proofs: readonly string[], target: ProofTarget): Promise<void> {
    if (proofs.length === 0) {
      throw new TokenRefusedError('dpop_proof_missing', 'the token is DPoP-bound: the request needs a DPoP header with a proof')
    }
    if (proofs.length > 1) throw invalid(`exactly one DPoP proof is allowed; the request has ${proofs.length}`)
    const proof = proofs[0].trim()
    if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw invalid('the DPoP header is not a JWS in compact form')
    const jwk = this.checkHeader(proof)
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== target.jkt) {
      throw new TokenRefusedError(
        'dpop_key_mismatch',
        'the DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)',
      )
    }
    const payload = await this.checkSignature(proof)
    const { jti, iat } = this.checkClaims(payload, target)
    this.claim(`${target.jkt}:${jti}`, (iat + this.settings.proofWindowSeconds + 1) * 1000)
  }

  private checkHeader(proof: string): JWK {
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      header = decodeProtectedHeader(proof)
    } catch {
      throw invalid('the DPoP proof has no readable JOSE header')
    }
    if (header.typ !== 'dpop+jwt') throw invalid(`the DPoP proof's typ must be dpop+jwt, not ${shown(header.typ)}`)
    if (typeof header.alg !== 'string' || !this.settings.algorithms.includes(header.alg)) {
      throw invalid(`the DPoP proof's alg ${shown(header.alg)} is not accepted: one of ${this.settings.algorithms.join(', ')}`)
    }
    const jwk = header.jwk
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
      throw invalid("the DPoP proof's header must carry its public key as jwk")
    if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) throw invalid("the DPoP proof's jwk must be a public key")
    return jwk
  }

  private async checkSignature(proof: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [...this.settings.algorithms],
        typ: 'dpop+jwt',
        currentDate: new Date(this.now()),
      })
      return payload
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) throw invalid("the DPoP proof's signature does not verify with its jwk")
      if (error instanceof errors.JOSEError) throw invalid(`the DPoP proof is not acceptable: ${error.message.slice(0, 200)}`)
      throw error
    }
  }

  private checkClaims(payload: JWTPayload, target: ProofTarget): { jti: string; iat: number } {
    const { jti, htm, htu, iat, ath } = payload
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw invalid('the DPoP proof must have a jti: a unique string of at most 256 characters')
    }
    const method = target.method.toUpperCase()
    if (htm !== method) throw invalid(`the DPoP proof's htm is ${shown(htm)}; this request is ${method}`)
    const here = normalizedHtu(String(target.url))
    if (typeof htu !== 'string' || here === undefined || normalizedHtu(htu) !== here) {
      throw invalid(`the DPoP proof's htu is ${shown(htu)}; this request is for ${here ?? 'an unreadable URL'}`)
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the DPoP proof must have an iat (seconds since the epoch)')
    const off = this.now() / 1000 - iat
    if (Math.abs(off) > this.settings.proofWindowSeconds) {
      throw invalid(
        `the DPoP proof's iat is ${Math.round(Math.abs(off))} s ${off > 0 ? 'in the past' : 'ahead'}: proofs are accepted within ${this.settings.proofWindowSeconds} s`,
      )
    }
    const expected = createHash('sha256').update(target.accessToken, 'ascii').digest('base64url')
    if (ath !== expected) {
      throw invalid(
        ath === undefined
          ? "the DPoP proof must have an ath, the access token's SHA-256 (base64url)"
          : "the DPoP proof's ath is not the SHA-256 of this access token",
      )
    }
    return { jti, iat }
  }

  /** Single use: a jti seen within its window is a replay. Fails closed when the record is full. */
  private claim(key: string, until: number): void {
    const now = this.now()
    this.forgetExpired(now, false)
    const known = this.seen.get(key)
    if (known !== undefined && known > now) {
      throw new TokenRefusedError('dpop_proof_replayed', 'this DPoP proof was already used: make a new proof for each request')
    }
    if (this.seen.size >= this.settings.maxProofsRemembered) this.forgetExpired(now, true)
    if (this.seen.size >= this.settings.maxProofsRemembered) {
      // Forgetting a live jti would let its proof be replayed: refuse instead, until some expire.
      throw new VerifierUnavailableError(
        'dpop_replay_record_full',
        `${this.seen.size} DPoP proofs are remembered (dpop.maxProofsRemembered): none can be accepted until some leave their window`,
      )
    }
    this.seen.set(key, until)
  }

  /** From the oldest while they are expired, or (`all`) every expired one. */
  private forgetExpired(now: number, all: boolean): void {
    for (const [key, until] of this.seen) {
      if (until <= now) this.seen.delete(key)
      else if (!all) return
    }
  }
}

/** RFC 9449 section 4.3: the URI without query and fragment, normalized as the WHATWG parser does (scheme, host, default port). */
export function normalizedHtu(uri: string): string | undefined {
  if (!URL.canParse(uri)) return undefined
  const url = new URL(uri)
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined
  return `${url.protocol}//${url.host}${url.pathname.replace(/%[0-9a-fA-F]{2}/g, (escape) => escape.toUpperCase())}`
}

function invalid(message: string): TokenRefusedError {
  return new TokenRefusedError('dpop_proof_invalid', message)
}

function shown(value: unknown): string {
  return typeof value === 'string' ? `"${value.slice(0, 100)}"` : value === undefined ? 'missing' : typeof value
}
