import { InvalidGrantError } from '../../errors.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'

/**
 * The subject token of `urn:seed-sts:token-type:aws-instance-identity`: a JSON object in one of the
 * three forms IMDS publishes, with the instance's nonce (README.md, "AWS EC2 attestor", shows them and
 * how an instance fetches them). Base64 may be wrapped, as IMDS wraps it. The `document` of the
 * `signature` form must be the bytes IMDS served, as a JSON string: the signature covers those bytes.
 * Nothing else is accepted (no other fields, no PEM armour): the less an unverified token may vary,
 * the less there is to get wrong. AWS does not sign the nonce; it is what stops a copied document
 * from being replayed (src/replay/registration-store.ts).
 */
export const AWS_INSTANCE_IDENTITY_TOKEN_TYPE = 'urn:seed-sts:token-type:aws-instance-identity'

/** A subject token split into its parts; still untrusted: nothing here has been verified. */
export type InstanceIdentityAttestation = (
  { form: 'pkcs7' | 'rsa2048'; pkcs7: Buffer } | { form: 'signature'; document: Buffer; signature: Buffer }
) & { nonce?: string }

const SHAPES = 'send {"pkcs7": "<base64>"}, {"rsa2048": "<base64>"} or {"document": "<document>", "signature": "<base64>"}'
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
/** Visible ASCII; the registrations store asks for at least 16 characters. */
const NONCE = /^[\x21-\x7e]{1,256}$/

/**
 * @example
 * const attestation = parseAwsSubjectToken('{"rsa2048": "MIAGCSqG..."}', 16_384)
 * // { form: 'rsa2048', pkcs7: <Buffer 30 80 06 09 ...> }
 */
export function parseAwsSubjectToken(subjectToken: string, maxBytes: number): InstanceIdentityAttestation {
  // A string has at least as many UTF-8 bytes as UTF-16 units: the cheap test first, for huge inputs.
  if (subjectToken.length > maxBytes || Buffer.byteLength(subjectToken) > maxBytes) {
    throw new InvalidGrantError(`the AWS instance identity is larger than the ${maxBytes} bytes accepted`, 'attestation_too_large')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(subjectToken)
  } catch {
    throw new InvalidGrantError(`the AWS instance identity is not JSON; ${SHAPES}`, 'attestation_malformed')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidGrantError(`the AWS instance identity must be a JSON object; ${SHAPES}`, 'attestation_malformed')
  }
  const fields = parsed as Record<string, unknown>
  const nonce = fields.nonce === undefined ? {} : { nonce: nonceField(fields.nonce) }
  const keys = Object.keys(fields)
    .filter((key) => key !== 'nonce')
    .sort()
    .join(',')
  switch (keys) {
    case 'pkcs7':
    case 'rsa2048':
      return { form: keys, pkcs7: base64Field(fields, keys), ...nonce }
    case 'document,signature':
      return {
        form: 'signature',
        document: Buffer.from(stringField(fields, 'document'), 'utf8'),
        signature: base64Field(fields, 'signature'),
        ...nonce,
      }
    default:
      throw new InvalidGrantError(
        `the AWS instance identity has the fields ${quoteUntrusted(keys, 40)}; ${SHAPES}`,
        'attestation_malformed',
      )
  }
}

function nonceField(value: unknown): string {
  if (typeof value !== 'string' || !NONCE.test(value)) {
    throw new InvalidGrantError(
      'the AWS instance identity field "nonce" must be 1 to 256 visible ASCII characters',
      'attestation_malformed',
    )
  }
  return value
}

function stringField(fields: Record<string, unknown>, name: string): string {
  const value = fields[name]
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidGrantError(
      `the AWS instance identity field "${name}" must be a non-empty string, not ${quoteUntrusted(value, 16)}`,
      'attestation_malformed',
    )
  }
  return value
}

function base64Field(fields: Record<string, unknown>, name: string): Buffer {
  const compact = stringField(fields, name).replace(/\s+/g, '')
  // Buffer.from(…, 'base64') skips what it does not understand; check the alphabet and padding first.
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new InvalidGrantError(`the AWS instance identity field "${name}" is not valid base64`, 'attestation_malformed')
  }
  return Buffer.from(compact, 'base64')
}
