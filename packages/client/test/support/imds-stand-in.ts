import type { Test } from 'tap'
import { fixture } from './fixtures.js'
import { startMetadataStandIn, type MetadataStandIn } from './metadata-stand-in.js'

/** What the stand-in serves: the metaphor 2026 instance (i-0c5541936caf78c12, account 189292791360, ap-southeast-2). */
export const IMDS_SAMPLES: Record<string, string> = {
  '/latest/dynamic/instance-identity/document': fixture('metaphor-2026-ap-southeast-2.document.json'),
  '/latest/dynamic/instance-identity/signature': fixture('metaphor-2026-ap-southeast-2.signature.b64'),
  '/latest/dynamic/instance-identity/rsa2048': fixture('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64'),
  // IMDS's /pkcs7 of another instance (2016, us-east-1): only the form matters where it is used.
  '/latest/dynamic/instance-identity/pkcs7': fixture('vault-2016-us-east-1.pkcs7.b64'),
}

/** IMDSv2 as EC2 runs it: a session token PUT for first, then every GET must carry a live one. */
export async function startImdsStandIn(t: Test): Promise<MetadataStandIn & { expireSessions(): void }> {
  const live = new Set<string>()
  let issued = 0
  const standIn = await startMetadataStandIn(t, (request) => {
    if (request.path === '/latest/api/token') {
      if (request.method !== 'PUT' || request.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined)
        return { status: 400, body: '' }
      const token = `imds-session-${++issued}`
      live.add(token)
      return { body: token }
    }
    const session = request.headers['x-aws-ec2-metadata-token']
    if (typeof session !== 'string' || !live.has(session)) return { status: 401, body: '' }
    const sample = IMDS_SAMPLES[request.path]
    return sample === undefined ? { status: 404, body: 'Not Found' } : { body: sample }
  })
  return { ...standIn, expireSessions: () => live.clear() }
}
