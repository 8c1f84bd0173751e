import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { AzureAttestorConfig, type AzureAttestorConfigInput } from '../../../src/attestors/azure/config.js'
import { FixedClock } from '../../../src/lib/clock.js'
import { interopDir } from '../interop.js'

/** The real, published samples (see test/fixtures/interop/README.md section 5). */
export const SAMPLES = pathToFileURL(interopDir('azure-attested'))

/** A sample's text; a missing sample fails the test file, it never skips it. */
export function sample(name: string): string {
  const url = new URL(name, SAMPLES)
  if (!existsSync(url)) throw new Error(`interop sample missing: ${fileURLToPath(url)} (see test/fixtures/interop/README.md section 5)`)
  return readFileSync(url, 'utf8')
}

export const CANDLEPIN = {
  file: 'candlepin-2021-westeurope.pkcs7.b64',
  at: '2021-01-04T14:00:00Z',
  vmId: 'f904ece8-c6c1-4b5c-881f-309b50f25e56',
}
export const GOVCLOUD = {
  file: 'coder-2023-govcloud.pkcs7.b64',
  at: '2023-03-08T18:00:00Z',
  expiresOn: '2023-03-08T23:09:33Z',
  subscriptionId: '0afbfffa-5df9-4a3b-987e-fe7577624272',
  vmId: '990878d4-068a-4ac4-9ee9-1231d2218ef2',
}
export const EASTUS_2026 = {
  file: 'coder-2026-eastus.pkcs7.b64',
  at: '2026-06-25T19:00:00Z',
  subscriptionId: '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc',
}
export const MSDOCS = { file: 'msdocs-2018-example-UNTRUSTED-testcert.pkcs7.b64', at: '2018-11-20T22:08:00Z' }

export function azureConfig(fields: Partial<AzureAttestorConfigInput> = {}): AzureAttestorConfig {
  return AzureAttestorConfig.parse({ kind: 'azure', name: 'azure', subscriptions: [GOVCLOUD.subscriptionId], ...fields })
}

export function azureDeps(at: string | number, overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return {
    trustDomain: 'example.org',
    audience: 'api://seed-sts',
    clock: new FixedClock(typeof at === 'number' ? at : Date.parse(at)),
    skewSeconds: 60,
    maxAttestationBytes: 16_384,
    fetchJwks: async () => {
      throw new Error('attested data needs no JWKS')
    },
    ...overrides,
  }
}

/**
 * Changes one character inside the signed data of a base64 PKCS#7 (the first `vmId` digit) and keeps
 * everything else, signature included: still well-formed, so only the signature check can catch it.
 */
export function tamperContent(base64: string, marker = '"vmId":"'): string {
  const der = Buffer.from(base64.replace(/\s+/g, ''), 'base64')
  const at = der.indexOf(marker)
  if (at < 0) throw new Error(`tamperContent: ${marker} not found`)
  const i = at + marker.length
  der[i] = der[i] === 0x30 ? 0x31 : 0x30
  return der.toString('base64')
}

/** IMDS attested data JSON with the given fields, timestamps in IMDS format. */
export function attestedDocument(fields: Record<string, unknown> = {}, createdOn = Date.parse(GOVCLOUD.at)): string {
  return JSON.stringify({
    licenseType: '',
    nonce: '20250615-162640',
    plan: { name: '', product: '', publisher: '' },
    sku: '22_04-lts-gen2',
    subscriptionId: GOVCLOUD.subscriptionId,
    timeStamp: { createdOn: imdsTime(createdOn), expiresOn: imdsTime(createdOn + 6 * 3600_000) },
    vmId: '11111111-2222-3333-4444-555555555555',
    ...fields,
  })
}

/** `MM/DD/YY HH:MM:SS -0000`. */
export function imdsTime(ms: number): string {
  const d = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} -0000`
}
