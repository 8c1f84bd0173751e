import { readFileSync } from 'node:fs'
import { createAzureAttestedDataAttestor } from '../../../src/attestors/azure/attestor.js'
import { AzureAttestorConfig } from '../../../src/attestors/azure/config.js'
import { FixedClock } from '../../../src/lib/clock.js'
const S = '/work/shared/interop/azure-attested/'
const cases: [string, string, string][] = [
  ['candlepin-2021-westeurope.attested.json', '2021-01-04T14:00:00Z', '0afbfffa-5df9-4a3b-987e-fe7577624272'],
  ['coder-2023-govcloud.pkcs7.b64', '2023-03-08T18:00:00Z', '0afbfffa-5df9-4a3b-987e-fe7577624272'],
  ['coder-2026-eastus.pkcs7.b64', '2026-06-25T19:00:00Z', '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'],
  ['msdocs-2018-example-UNTRUSTED-testcert.pkcs7.b64', '2018-11-20T22:08:00Z', '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'],
]
for (const [file, at, sub] of cases) {
  const a = createAzureAttestedDataAttestor(AzureAttestorConfig.parse({ kind: 'azure', name: 'azure', subscriptions: [sub] }), { trustDomain: 'example.org', audience: 'x', clock: new FixedClock(Date.parse(at)), skewSeconds: 60, maxAttestationBytes: 16384, fetchJwks: async () => ({}) })
  try { console.log(file, JSON.stringify(await a.attest(readFileSync(S + file, 'utf8')))) } catch (e) { console.log(file, (e as Error).name, (e as Error).message) }
}
