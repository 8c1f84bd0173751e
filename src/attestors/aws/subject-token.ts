import { InvalidGrantError } from '../../errors.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'

/**
 * ## AWS EC2 instance identity: the subject token
 *
 * `subject_token_type=urn:seed-sts:token-type:aws-instance-identity`, and `subject_token` a JSON object
 * carrying one of the three forms the instance metadata service (IMDS) publishes under
 * `http://169.254.169.254/latest/dynamic/instance-identity/`:
 *
 * | form        | subject_token                                                   | signed with                  |
 * |-------------|-----------------------------------------------------------------|------------------------------|
 * | `pkcs7`     | `{"pkcs7": "<base64 of .../pkcs7>"}`                            | DSA with SHA-1 (PKCS#7)      |
 * | `rsa2048`   | `{"rsa2048": "<base64 of .../rsa2048>"}`                        | RSA-2048 with SHA-256 (PKCS#7) |
 * | `signature` | `{"document": "<.../document, exactly as served>", "signature": "<base64 of .../signature>"}` | RSA with SHA-256 |
 *
 * Base64 may be wrapped (IMDS wraps it): whitespace is ignored. For the `signature` form the document
 * text must be byte-for-byte what IMDS served, as a JSON string (its newlines escaped as `\n`); the
 * signature covers those bytes. Each shape may also carry `"nonce": "<16 to 256 visible ASCII
 * characters>"`: a secret the instance chooses once and keeps, which the first attestation registers
 * and every later one must repeat (an attestor's `reattestation: nonce`, the default). AWS does not
 * sign it; it is what stops a copied document from being replayed. Nothing else is accepted: no
 * other fields, no PEM armour.
 *
 * ```sh
 * TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
 * IID=http://169.254.169.254/latest/dynamic/instance-identity
 * NONCE=$(cat /var/lib/sts-nonce 2>/dev/null || (umask 077; openssl rand -hex 32 | tee /var/lib/sts-nonce))
 * curl -sH "X-aws-ec2-metadata-token: $TOKEN" $IID/rsa2048 | jq -Rs --arg nonce "$NONCE" '{rsa2048: ., nonce: $nonce}'
 * # or the signature form (--rawfile keeps the document's bytes exactly)
 * curl -sH "X-aws-ec2-metadata-token: $TOKEN" -o doc $IID/document
 * curl -sH "X-aws-ec2-metadata-token: $TOKEN" -o sig $IID/signature
 * jq -n --rawfile document doc --rawfile signature sig '{document: $document, signature: $signature}'
 * ```
 */
export const AWS_INSTANCE_IDENTITY_TOKEN_TYPE = 'urn:seed-sts:token-type:aws-instance-identity'

/** A subject token split into its parts; still untrusted: nothing here has been verified. */
export type InstanceIdentityAttestation = (
  | { form: 'pkcs7' | 'rsa2048'; pkcs7: Buffer }
  | { form: 'signature'; document: Buffer; signature: Buffer }
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
  const keys = Object.keys(fields).filter((key) => key !== 'nonce').sort().join(',')
  switch (keys) {
    case 'pkcs7':
    case 'rsa2048':
      return { form: keys, pkcs7: base64Field(fields, keys), ...nonce }
    case 'document,signature':
      return { form: 'signature', document: Buffer.from(stringField(fields, 'document'), 'utf8'), signature: base64Field(fields, 'signature'), ...nonce }
    default:
      throw new InvalidGrantError(`the AWS instance identity has the fields ${quoteUntrusted(keys, 40)}; ${SHAPES}`, 'attestation_malformed')
  }
}

function nonceField(value: unknown): string {
  if (typeof value !== 'string' || !NONCE.test(value)) {
    throw new InvalidGrantError('the AWS instance identity field "nonce" must be 1 to 256 visible ASCII characters', 'attestation_malformed')
  }
  return value
}

function stringField(fields: Record<string, unknown>, name: string): string {
  const value = fields[name]
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidGrantError(`the AWS instance identity field "${name}" must be a non-empty string, not ${quoteUntrusted(value, 16)}`, 'attestation_malformed')
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
