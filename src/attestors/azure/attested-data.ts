import { constants, verify as verifySignature } from 'node:crypto'
import { InvalidGrantError } from '../../errors.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import { nameMatches, type CertificateInfo } from './certificates.js'
import { verifyChain, type TrustStore } from './chain.js'
import { parseAttestedDataEnvelope } from './pkcs7.js'

/**
 * Verification of Azure IMDS attested data (`GET /metadata/attested/document`): the signature over the
 * data AND the signer's chain AND the signer's name. Checking the chain without the signature (the
 * coder/coder #25303 bug class) would accept any data stapled to a genuine Microsoft certificate;
 * checking the signature without the chain would accept anyone's self-signed certificate (the
 * Microsoft docs sample).
 */

/** The `subject_token_type` of IMDS attested data: Seed STS's own. */
export const AZURE_ATTESTED_DATA_TOKEN_TYPE = 'urn:seed-sts:token-type:azure-attested-data'

export interface AttestedDataTrust extends TrustStore {
  /** Names the signer must carry: `metadata.azure.com`, `*.metadata.azure.com`, ... */
  signerNames: readonly string[]
}

export interface VerifiedAttestedData {
  /** The attested data JSON, exactly as signed. Authentic, but not yet parsed or checked. */
  content: Buffer
  signer: CertificateInfo
  /** `[signer, ...intermediates, root]`. */
  chain: CertificateInfo[]
}

const MIN_RSA_BITS = 2048
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * Turns a subject token into the DER envelope. Accepted forms: the IMDS response JSON
 * `{"encoding":"pkcs7","signature":"<base64>"}`, or the base64 of its `signature` alone (line breaks
 * allowed).
 */
export function decodeAttestedDataToken(token: string, maxBytes: number): Buffer {
  if (typeof token !== 'string' || token.trim() === '') throw new InvalidGrantError('the attestation is empty', 'attestation_malformed')
  if (token.length > maxBytes) throw new InvalidGrantError(`the attestation is larger than ${maxBytes} bytes`, 'attestation_too_large')
  const text = token.trim()
  let encoded: unknown = text
  if (text.startsWith('{')) {
    let response: unknown
    try {
      response = JSON.parse(text)
    } catch {
      throw new InvalidGrantError('the attestation looks like JSON but is not valid JSON', 'attestation_malformed')
    }
    const { encoding, signature } = (response ?? {}) as Record<string, unknown>
    if (encoding !== 'pkcs7')
      throw new InvalidGrantError(`the attested data encoding is ${quoteUntrusted(encoding)}, not "pkcs7"`, 'attestation_malformed')
    encoded = signature
  }
  const base64 = typeof encoded === 'string' ? encoded.replace(/\s+/g, '') : undefined
  if (base64 === undefined || !BASE64.test(base64) || base64.length % 4 !== 0) {
    throw new InvalidGrantError(
      'the attested data is neither the IMDS response JSON nor the base64 of its "signature"',
      'attestation_malformed',
    )
  }
  return Buffer.from(base64, 'base64')
}

/**
 * Verifies the envelope as of `at` and returns the signed data. Throws InvalidGrantError.
 *
 * @example
 * const { content } = verifyAttestedData(decodeAttestedDataToken(token, 16_384), trust, new Date(clock.now()))
 */
export function verifyAttestedData(der: Buffer, trust: AttestedDataTrust, at: Date): VerifiedAttestedData {
  const { content, signature, signer } = parseAttestedDataEnvelope(der)
  const key = signer.publicKey
  if (key.asymmetricKeyType !== 'rsa')
    throw new InvalidGrantError('the attested data signer key is not an RSA key', 'algorithm_not_accepted')
  if (!signatureMatches(content, signature, signer))
    throw new InvalidGrantError('the attested data signature is invalid', 'signature_invalid')
  // The signature is good, but only proves the embedded certificate's key signed: now, whose key it is.
  const chain = verifyChain(signer, trust, at)
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new InvalidGrantError(`the attested data signer key is shorter than ${MIN_RSA_BITS} bits`, 'algorithm_not_accepted')
  }
  if (!signer.dnsNames.some((name) => trust.signerNames.some((pattern) => nameMatches(name, pattern)))) {
    throw new InvalidGrantError(
      `the attested data signer ${quoteUntrusted(signer.dnsNames.join(', ') || signer.label, 100)} is not one of ${trust.signerNames.join(', ').slice(0, 100)}`,
      'certificate_untrusted',
    )
  }
  return { content, signer, chain }
}

/** RSA PKCS#1 v1.5 with SHA-256 directly over the data (no signed attributes); never throws. */
function signatureMatches(content: Buffer, signature: Buffer, signer: CertificateInfo): boolean {
  try {
    return verifySignature('sha256', content, { key: signer.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)
  } catch {
    return false
  }
}
