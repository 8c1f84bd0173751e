import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { fileAttestation } from '../../src/attestations/file.js'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { fixture } from '../support/fixtures.js'
import { context } from '../support/metadata-stand-in.js'

// The EKS token of 2025-11-24: iat 1763969878, exp 1764056278 (24 h).
const EKS = fixture('eks-hakawai-2025.jwt').trim()
const ISSUED = 1_763_969_878_000
const EXPIRES = 1_764_056_278_000

function tokenDirectory(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-file-attestation-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** As the kubelet writes a projected volume: a timestamped directory, `..data` swapped to it, the file a link through it. */
function kubeletWrite(dir: string, token: string, generation: number): void {
  const version = join(dir, `..2026_${generation}`)
  mkdirSync(version)
  writeFileSync(join(version, 'sts-token'), token)
  symlinkSync(`..2026_${generation}`, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  if (generation === 1) symlinkSync('..data/sts-token', join(dir, 'sts-token'))
}

t.test('a projected token is read for every exchange: a rotated token is the one sent', async (t) => {
  const dir = tokenDirectory(t)
  kubeletWrite(dir, `${EKS}\n`, 1)
  const attestation = fileAttestation({ path: join(dir, 'sts-token') })
  t.same(await attestation.subjectToken(context(ISSUED + 60_000)), { subjectToken: EKS, subjectTokenType: JWT_TOKEN_TYPE })

  const [header, payload, signature] = EKS.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
  const rotated = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: 1_764_100_000 })).toString('base64url')}.${signature}`
  kubeletWrite(dir, rotated, 2)
  t.same(await attestation.subjectToken(context(ISSUED + 60_000)), { subjectToken: rotated, subjectTokenType: JWT_TOKEN_TYPE })
})

t.test('an expired token is never sent: a retryable error, until the kubelet rotates it', async (t) => {
  const dir = tokenDirectory(t)
  writeFileSync(join(dir, 'sts-token'), EKS)
  const attestation = fileAttestation({ path: join(dir, 'sts-token') })
  t.same(
    await attestation.subjectToken(context(EXPIRES - 1)),
    { subjectToken: EKS, subjectTokenType: JWT_TOKEN_TYPE },
    'one millisecond before exp',
  )
  await t.rejects(attestation.subjectToken(context(EXPIRES)), {
    name: 'AttestationError',
    retryable: true,
    message: `the token in ${join(dir, 'sts-token')} expired at 2025-11-25T07:37:58.000Z; waiting for it to be rotated`,
  })
})

t.test('a missing or empty file is worth waiting for; a file that holds no JWT is not', async (t) => {
  const dir = tokenDirectory(t)
  const path = join(dir, 'sts-token')
  await t.rejects(fileAttestation({ path }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: true,
    message: /^the token file .* cannot be read: ENOENT/,
  })
  writeFileSync(path, '\n')
  await t.rejects(fileAttestation({ path }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: true,
    message: `the token file ${path} is empty`,
  })
  writeFileSync(path, 'password=hunter2')
  await t.rejects(fileAttestation({ path }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: false,
    message: `the token file ${path} does not hold a JWT`,
  })
  t.same(
    await fileAttestation({ path, subjectTokenType: 'urn:example:opaque' }).subjectToken(context()),
    { subjectToken: 'password=hunter2', subjectTokenType: 'urn:example:opaque' },
    'another token type is sent as it is',
  )
  t.throws(() => fileAttestation({ path: '' }), {
    name: 'TypeError',
    message: 'fileAttestation: `path` must be the path of the token file',
  })
})
