import { createHash } from 'node:crypto'
import { InvalidDpopProofError, UseDpopNonceError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import type { ReplayGuard } from '../replay/replay-guard.js'
import type { DpopNonces } from './dpop-nonces.js'
import { sameHtu } from './htu.js'
import type { JwsAlgorithm } from '../jose/algorithms.js'
import { untrustedHeaderOf, verifiedProof } from './proof-signature.js'

/** What a proof that checks out tells the exchange: the key the token is bound to. */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key, base64url: the token's `cnf.jkt`. */
  jkt: string
}

export interface DpopProofVerifierOptions {
  /** `dpop.algorithms`: asymmetric JWS algorithms only (the configuration offers no others). */
  algorithms: readonly string[]
  /** `dpop.proofWindowSeconds`: how far `iat` may be from now, either way. */
  windowSeconds: number
  /** With `dpop.nonce: required`; absent otherwise. */
  nonces?: DpopNonces
  /** The record of single-use claims every instance shares: a proof's jti is claimed there. */
  replay: ReplayGuard
  clock: Clock
  /** The token endpoint's URL as clients reach it: `<issuer>/oauth2/token` (what discovery advertises). */
  endpoint: string
}

/** A proof is one JWS in compact form; nothing larger is read (a key and a few claims fit easily). */
const MAX_PROOF_BYTES = 8192
/** An empty signature is let through here, so an unsecured (`alg: none`) proof is refused by its algorithm, by name. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
/** Printable: no control characters and no lone surrogates, which a database could not store as sent. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}]+$/u
/** Members only a private or a symmetric key has (RFC 7518 section 6): a proof's key must be public. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * Checks a DPoP proof (RFC 9449 section 4.3) sent to the token endpoint, strictly and in the RFC's
 * order: one header, a JWS typed `dpop+jwt`, an accepted asymmetric algorithm, a public `jwk` that
 * verifies the signature, then the claims (`jti`, `htm`, `htu`, `iat` in the window, the nonce when
 * required), and last the jti's single use across every instance. Every refusal is
 * `invalid_dpop_proof` (or `use_dpop_nonce`) and names what is wrong; the proof is untrusted until
 * its signature is checked, and nothing of it is believed before.
 */
export class DpopProofVerifier {
  constructor(private readonly options: DpopProofVerifierOptions) {}

  /**
   * `headers` are the values of every `DPoP` header of the request (none: no proof, and undefined is
   * answered); `presented`, the access token the proof comes with, if any (its `ath` must match). Throws InvalidDpopProofError or UseDpopNonceError; ServiceUnavailableError when the
   * replay record cannot answer.
   */
  async verify(headers: readonly string[], method: string, presented?: { accessToken: string }): Promise<DpopProof | undefined> {
    if (headers.length === 0) return undefined
    if (headers.length > 1) throw new InvalidDpopProofError(`exactly one DPoP header is allowed; the request has ${headers.length}`)
    const proof = headers[0].trim()
    if (proof.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(proof)) {
      throw new InvalidDpopProofError('the DPoP header is not a JWS in compact form')
    }
    const { header, alg, jwk } = this.checkHeader(proof)
    const { payload, jkt } = verifiedProof(proof, header, alg, jwk)
    const { jti, iat } = this.checkClaims(payload, method)
    if (presented !== undefined) checkAth(payload, presented.accessToken)
    // The end of the window the proof is accepted in: remembered at least that long, on every instance.
    const until = new Date((iat + this.options.windowSeconds + 1) * 1000)
    if (!(await this.options.replay.claim(`dpop:${jkt}:${jti}`, until))) {
      throw new InvalidDpopProofError(
        'this DPoP proof was already used: make a new proof, with a new jti, for each request',
        'dpop_proof_replayed',
      )
    }
    return { jkt }
  }

  /** The protected header, before any signature is checked: type, algorithm, a public key. */
  private checkHeader(proof: string): { header: Record<string, unknown>; alg: JwsAlgorithm; jwk: object } {
    const header = untrustedHeaderOf(proof)
    if (header.typ !== 'dpop+jwt') {
      throw new InvalidDpopProofError(`the DPoP proof's typ must be dpop+jwt, not ${shown(header.typ)}`)
    }
    if (typeof header.alg !== 'string' || !this.options.algorithms.includes(header.alg)) {
      throw new InvalidDpopProofError(
        `the DPoP proof's alg ${shown(header.alg)} is not accepted: sign it with one of ${this.options.algorithms.join(', ')} ` +
          '(asymmetric algorithms only)',
      )
    }
    const jwk = header.jwk
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw new InvalidDpopProofError("the DPoP proof's header must carry its public key as jwk")
    }
    const secret = PRIVATE_MEMBERS.filter((member) => Object.hasOwn(jwk, member))
    if (secret.length > 0) {
      throw new InvalidDpopProofError(
        `the DPoP proof's jwk must be a public key; it has the private or symmetric member(s) ${secret.join(', ')}`,
      )
    }
    return { header, alg: header.alg as JwsAlgorithm, jwk }
  }

  private checkClaims(payload: Record<string, unknown>, method: string): { jti: string; iat: number } {
    const { jti, htm, htu, iat } = payload
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256 || !PRINTABLE.test(jti)) {
      throw new InvalidDpopProofError('the DPoP proof must have a jti: a unique string of at most 256 printable characters')
    }
    if (htm !== method) throw new InvalidDpopProofError(`the DPoP proof's htm is ${shown(htm)}; this request is ${method}`)
    if (typeof htu !== 'string' || !sameHtu(htu, this.options.endpoint)) {
      throw new InvalidDpopProofError(`the DPoP proof's htu is ${shown(htu)}; this endpoint is ${this.options.endpoint}`)
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat))
      throw new InvalidDpopProofError('the DPoP proof must have an iat (seconds since the epoch)')
    const now = this.options.clock.now() / 1000
    const window = this.options.windowSeconds
    if (Math.abs(now - iat) > window) {
      throw new InvalidDpopProofError(
        `the DPoP proof's iat is ${Math.round(Math.abs(now - iat))} s ${iat < now ? 'in the past' : 'ahead'}: proofs are accepted within ${window} s of this server's clock`,
      )
    }
    // Not needed by RFC 9449 (iat bounds a proof's life), but a proof that says it has expired, or is
    // not valid yet, is taken at its word.
    if (payload.exp !== undefined && (typeof payload.exp !== 'number' || payload.exp <= now)) {
      throw new InvalidDpopProofError("the DPoP proof's exp has passed, or is not a number")
    }
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + window)) {
      throw new InvalidDpopProofError("the DPoP proof's nbf is ahead, or is not a number")
    }
    const nonces = this.options.nonces
    if (nonces !== undefined && (typeof payload.nonce !== 'string' || !nonces.accepts(payload.nonce))) {
      throw new UseDpopNonceError(
        payload.nonce === undefined
          ? 'this server requires a nonce in DPoP proofs: use the one in the DPoP-Nonce header'
          : "the DPoP proof's nonce is not current: use the one in the DPoP-Nonce header",
        nonces.current(),
      )
    }
    return { jti, iat }
  }
}

/**
 * With an access token presented beside the proof (RFC 9449 section 4.3, check 11): the proof's `ath`
 * is the token's SHA-256, base64url, so a proof made for one token cannot be sent with another.
 */
function checkAth(payload: Record<string, unknown>, accessToken: string): void {
  const expected = createHash('sha256').update(accessToken, 'ascii').digest('base64url')
  if (payload.ath !== expected) {
    throw new InvalidDpopProofError(
      payload.ath === undefined
        ? "the DPoP proof must have an ath, the access token's SHA-256 (base64url), when it comes with the token"
        : "the DPoP proof's ath is not the SHA-256 of this access token",
    )
  }
}

function shown(value: unknown): string {
  return typeof value === 'string' ? `"${clipUntrusted(value, 100)}"` : value === undefined ? 'missing' : typeof value
}
