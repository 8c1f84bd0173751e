import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE } from '../../../src/attestors/azure/attested-data.js'
import { loadAzureTrust, trustMaterialWarnings } from '../../../src/attestors/azure/attestor.js'
import { AzureAttestorConfig, DEFAULT_SIGNER_NAMES, ENTRA_JWKS_URI } from '../../../src/attestors/azure/config.js'
import { createAzureAttestors } from '../../../src/attestors/azure/kind.js'
import { ConfigError } from '../../../src/config.js'
import { azureConfig, azureDeps, GOVCLOUD } from '../../support/attestors/azure-attested.js'

const KEYS = new URL('../../../keys/azure/', import.meta.url)
const SUBSCRIPTION = GOVCLOUD.subscriptionId
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

function problems(input: unknown): string[] {
  const result = AzureAttestorConfig.safeParse(input)
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
}

t.test('defaults: shipped trust material, public and Government signer names, Entra key set', async (t) => {
  t.same(
    AzureAttestorConfig.parse({
      kind: 'azure',
      name: 'azure',
      subscriptions: [SUBSCRIPTION.toUpperCase()],
      tenants: [TENANT],
      managedIdentity: {},
    }),
    {
      kind: 'azure',
      name: 'azure',
      subscriptions: [SUBSCRIPTION],
      singleUse: true,
      signerNames: [...DEFAULT_SIGNER_NAMES],
      tenants: [TENANT],
      managedIdentity: {
        jwksUri: ENTRA_JWKS_URI,
        jwksCacheSeconds: 3600,
        jwksRefreshCooldownSeconds: 30,
        maxTokenLifetimeSeconds: 90_000,
        singleUse: false,
      },
    },
  )
  t.equal(ENTRA_JWKS_URI, 'https://login.microsoftonline.com/common/discovery/v2.0/keys')
})

t.test('every problem is named', async (t) => {
  t.same(problems({ kind: 'azure', name: 'azure' }), ['subscriptions: Invalid input: expected array, received undefined'])
  t.same(problems({ kind: 'azure', name: 'azure', subscriptions: [] }), [
    'subscriptions: list at least one subscription id: every Azure VM in the world can produce attested data',
  ])
  t.same(
    problems({ kind: 'azure', name: 'Azure', subscriptions: ['prod'], vms: ['vm-1'], signerNames: ['Metadata.Azure.com'], extra: 1 }),
    [
      'name: must be a DNS label (lowercase letters, digits, "-")',
      'subscriptions.0: must be a GUID, e.g. 05e8b285-4ce1-46a3-b4c9-f51ba67d6acc',
      'vms.0: must be a GUID, e.g. 05e8b285-4ce1-46a3-b4c9-f51ba67d6acc',
      'signerNames.0: must be a lowercase DNS name, optionally starting with "*."',
      ': Unrecognized key: "extra"',
    ],
  )
  t.same(problems({ kind: 'azure', name: 'azure', subscriptions: [SUBSCRIPTION], managedIdentity: {} }), [
    'tenants: managedIdentity needs tenants: the Microsoft Entra tenant ids whose managed identities may attest',
  ])
  t.match(
    problems({
      kind: 'azure',
      name: 'azure',
      subscriptions: [SUBSCRIPTION],
      tenants: [TENANT],
      managedIdentity: { jwksUri: 'http://keys.test/' },
    }),
    [/^managedIdentity.jwksUri: /],
  )
  t.same(problems({ kind: 'azure', name: 'azure', subscriptions: [SUBSCRIPTION], tenants: [TENANT] }), [
    'managedIdentity: tenants are only read for managed-identity tokens: add managedIdentity (managedIdentity: {} takes the defaults)',
  ])
})

t.test('the shipped trust material is documented, file by file, with its fingerprint', async (t) => {
  const readme = readFileSync(new URL('README.md', KEYS), 'utf8')
  for (const folder of ['roots', 'intermediates']) {
    const files = readdirSync(new URL(`${folder}/`, KEYS)).filter((f) => f.endsWith('.pem'))
    t.ok(files.length >= 2, `${folder}: at least two certificates`)
    for (const file of files) {
      t.match(readme, `${folder}/${file}`, `${folder}/${file} is in the README`)
      const pem = readFileSync(new URL(`${folder}/${file}`, KEYS), 'utf8')
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
      const fingerprint = createHash('sha256')
        .update(der)
        .digest('hex')
        .toUpperCase()
        .replace(/(..)(?!$)/g, '$1:')
      t.match(readme, fingerprint, `${file}: its SHA-256 fingerprint is in the README`)
    }
  }
})

t.test('trust material: files, bundles and directories; unreadable material stops the start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-azure-trust-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const shipped = (path: string): string => readFileSync(new URL(path, KEYS), 'utf8')
  const bundle = join(dir, 'bundle.pem')
  writeFileSync(bundle, `# two roots\n${shipped('roots/baltimore-cybertrust-root.pem')}\n${shipped('roots/digicert-global-root-g2.pem')}`)
  const trust = loadAzureTrust(azureConfig({ roots: [bundle], intermediates: [new URL('intermediates', KEYS).pathname] }))
  t.equal(trust.roots.length, 2, 'a bundle file gives each of its certificates')
  t.equal(trust.intermediates.length, 11, 'a directory gives each of its *.pem files')

  const empty = join(dir, 'empty.pem')
  writeFileSync(empty, 'nothing here\n')
  const broken = join(dir, 'broken.pem')
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
  const error = t.throws(() =>
    loadAzureTrust(azureConfig({ roots: [join(dir, 'missing.pem'), empty], intermediates: [broken] })),
  ) as ConfigError
  t.ok(error instanceof ConfigError)
  t.match(error.problems, [
    /^attestor azure: roots: cannot read .*missing\.pem \(ENOENT/,
    /^attestor azure: roots: .*empty\.pem holds no PEM certificate$/,
  ])
  const intermediates = t.throws(() => loadAzureTrust(azureConfig({ roots: [bundle], intermediates: [broken] }))) as ConfigError
  t.match(intermediates.problems, [/^attestor azure: intermediates: certificate 1 of .*broken\.pem cannot be parsed/])
  const noPem = join(dir, 'no-pem')
  mkdirSync(noPem)
  writeFileSync(join(noPem, 'notes.txt'), 'not a certificate')
  const none = t.throws(() => loadAzureTrust(azureConfig({ roots: [bundle], intermediates: [noPem] }))) as ConfigError
  t.match(none.problems, [/^attestor azure: intermediates: no certificate found in .*no-pem$/])
})

t.test('start-up warnings say when the trust material has expired', async (t) => {
  const trust = loadAzureTrust(azureConfig())
  const notYet = (n: string) => new RegExp(`^azure intermediate "Microsoft TLS G2 RSA CA OCSP ${n}" is not valid before 2025-08`)
  const ocsp = ['02', '04', '06', '08', '10', '12', '14', '16']
  t.match(
    trustMaterialWarnings(trust, new Date(GOVCLOUD.at)).sort(),
    [...ocsp.map(notYet), /^azure intermediate "Microsoft TLS RSA Root G2" is not valid before 2025-05-21/],
    'in 2023 only the 2025 ones are not valid yet',
  )
  t.same(
    trustMaterialWarnings(trust, new Date('2026-11-23T00:00:00Z')),
    [
      'azure root "Baltimore CyberTrust Root" expired at 2025-05-12T23:59:00.000Z',
      'azure intermediate "Microsoft Azure TLS Issuing CA 05" expired at 2024-06-27T23:59:59.000Z',
      'azure intermediate "Microsoft RSA TLS CA 01" expired at 2024-10-08T07:00:00.000Z',
    ],
    'in November 2026 the old ones have expired, and the OCSP intermediates verify',
  )
  t.match(
    trustMaterialWarnings(trust, new Date('2030-01-01T00:00:00Z')).at(-1),
    /^no configured azure intermediate is valid now: no attested data can verify/,
  )
  const in2019 = trustMaterialWarnings(trust, new Date('2019-01-01T00:00:00Z'))
  t.match(in2019[0], /^azure intermediate "Microsoft Azure TLS Issuing CA 05" is not valid before 2020-07-29/)
  t.equal(in2019.filter((w) => w.includes('is not valid before')).length, 11, 'every intermediate is named')
  t.match(in2019.at(-1), /^no configured azure intermediate is valid now/)
})

t.test('one configuration, one or two attestors: attested data by token type, managed identities by issuer', async (t) => {
  const deps = azureDeps(GOVCLOUD.at)
  const [attestedData, ...rest] = createAzureAttestors(azureConfig(), deps)
  t.match(attestedData, { name: 'azure', kind: 'azure', tokenTypes: [AZURE_ATTESTED_DATA_TOKEN_TYPE] })
  t.notOk('issuer' in attestedData, 'the attested-data attestor is no JWT attestor')
  t.same(rest, [])
  const both = createAzureAttestors(azureConfig({ tenants: [TENANT], managedIdentity: {} }), deps)
  t.equal(both.length, 2)
  t.match(both[1], {
    name: 'azure',
    kind: 'azure',
    issuer: `https://sts.windows.net/${TENANT}/`,
    issuers: [`https://sts.windows.net/${TENANT}/`, `https://login.microsoftonline.com/${TENANT}/v2.0`],
  })
  t.notOk('tokenTypes' in both[1], 'the managed-identity attestor is chosen by issuer only')
})
