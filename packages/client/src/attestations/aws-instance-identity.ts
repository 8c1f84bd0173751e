import { AWS_INSTANCE_IDENTITY_TOKEN_TYPE, AttestationError, type Attestation, type AttestationContext } from './attestation.js'
import { readOrCreateNonce } from './aws-nonce.js'
import { callMetadata, expectOk, type Fetch } from './metadata-http.js'

export interface AwsInstanceIdentityOptions {
  /**
   * Where the instance's nonce is kept (created on first use, mode 0600), e.g. /var/lib/seed-sts/aws-nonce.
   * Every process on the instance must name the same file: see aws-nonce.ts.
   */
  noncePath: string
  /**
   * Which signed form of the identity document to send, as the AWS attestor accepts them: `rsa2048`
   * (default: the RSA-2048 PKCS#7 of `/rsa2048`), `signature` (the document and its RSA signature) or
   * `pkcs7` (the DSA PKCS#7 of `/pkcs7`).
   */
  form?: 'rsa2048' | 'signature' | 'pkcs7'
  /** The instance metadata service; `http://169.254.169.254` by default. */
  endpoint?: string
  /** Lifetime asked for IMDSv2 session tokens; 21600 s (6 h, the most IMDS gives) by default. */
  sessionTtlSeconds?: number
  fetch?: Fetch
}

const WHAT = 'the AWS instance metadata service'
const IDENTITY = '/latest/dynamic/instance-identity'

/**
 * An EC2 instance's identity document, signed by AWS, with the instance's nonce (README, "AWS EC2
 * attestor"). IMDSv2 only: a session token is PUT for first, kept until near its end, and fetched
 * again when IMDS says it is no longer good (401).
 *
 * @example
 * tokenSource({ sts, attestation: awsInstanceIdentity({ noncePath: '/var/lib/seed-sts/aws-nonce' }) })
 */
export function awsInstanceIdentity(options: AwsInstanceIdentityOptions): Attestation {
  if (typeof options?.noncePath !== 'string' || options.noncePath === '') {
    throw new TypeError('awsInstanceIdentity: `noncePath` must name the file that keeps the instance nonce')
  }
  const form = options.form ?? 'rsa2048'
  if (!['rsa2048', 'signature', 'pkcs7'].includes(form))
    throw new TypeError(`awsInstanceIdentity: \`form\` must be rsa2048, signature or pkcs7, not ${String(form)}`)
  const ttlSeconds = options.sessionTtlSeconds ?? 21_600
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 21_600) {
    throw new TypeError('awsInstanceIdentity: `sessionTtlSeconds` must be a whole number from 1 to 21600')
  }
  const endpoint = (options.endpoint ?? 'http://169.254.169.254').replace(/\/+$/, '')
  const fetch = options.fetch ?? globalThis.fetch
  const noncePath = options.noncePath
  let nonce: Promise<string> | undefined
  let session: { token: string; until: number } | undefined

  async function sessionToken(context: AttestationContext, fresh: boolean): Promise<string> {
    if (!fresh && session !== undefined && context.now() < session.until) return session.token
    const response = await callMetadata(fetch, {
      what: WHAT,
      url: `${endpoint}/latest/api/token`,
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttlSeconds) },
      signal: context.signal,
    })
    const token = expectOk(`${WHAT} (IMDSv2 session token)`, response).trim()
    // Renewed at 80 % of its life: never used in its last moments.
    session = { token, until: context.now() + ttlSeconds * 800 }
    return token
  }

  async function get(context: AttestationContext, path: string): Promise<string> {
    let response = await callMetadata(fetch, {
      what: WHAT,
      url: `${endpoint}${path}`,
      headers: { 'X-aws-ec2-metadata-token': await sessionToken(context, false) },
      signal: context.signal,
    })
    if (response.status === 401) {
      response = await callMetadata(fetch, {
        what: WHAT,
        url: `${endpoint}${path}`,
        headers: { 'X-aws-ec2-metadata-token': await sessionToken(context, true) },
        signal: context.signal,
      })
    }
    return expectOk(`${WHAT} (${path})`, response)
  }

  return {
    kind: 'aws',
    async subjectToken(context) {
      // One read of the file per process; a failed read is tried again at the next exchange.
      nonce ??= readOrCreateNonce(noncePath).catch((error: unknown) => {
        nonce = undefined
        throw error
      })
      const instanceNonce = await nonce
      let fields: Record<string, string>
      switch (form) {
        case 'rsa2048':
          fields = { rsa2048: await get(context, `${IDENTITY}/rsa2048`) }
          break
        case 'pkcs7':
          fields = { pkcs7: await get(context, `${IDENTITY}/pkcs7`) }
          break
        case 'signature': {
          // The document exactly as served: the signature covers those bytes, whitespace and all.
          const document = await get(context, `${IDENTITY}/document`)
          fields = { document, signature: await get(context, `${IDENTITY}/signature`) }
          break
        }
      }
      for (const [name, value] of Object.entries(fields)) {
        if (value.trim() === '') throw new AttestationError(`${WHAT} answered an empty ${name}`, true)
      }
      return { subjectToken: JSON.stringify({ ...fields, nonce: instanceNonce }), subjectTokenType: AWS_INSTANCE_IDENTITY_TOKEN_TYPE }
    },
  }
}
