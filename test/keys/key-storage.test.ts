import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose'
import t, { type Test } from 'tap'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { freshPostgresDatabase } from '../support/servers.js'
import {
  JWT_TOKEN_TYPE,
  KEY_ENCRYPTION_KEY,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestServiceOptions,
} from '../support/service.js'

/**
 * What is stored, and what an upgrade and a restart find: the private keys sealed (never in the
 * clear, never as a JWK's `d`), a wrong key-encryption key refused at start with a clear error, and
 * the PEM files of the release before imported once. On PGlite (a data directory, restarted) and on Postgres.
 */

function pemKey(dir: string, stamp: string): KeyObject {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(join(dir, `sts-${stamp}.key.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 })
  return privateKey
}

async function thumbprint(privateKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(createPublicKey(privateKey).export({ format: 'jwk' }) as JWK, 'sha256')
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

for (const backend of ['embedded', 'real'] as const) {
  t.test(`${backend}: PEM files imported once, sealed at rest, a wrong key-encryption key refused`, async (t) => {
    const keysDir = tempDir(t, 'sts-pem-')
    const older = pemKey(keysDir, '20261001T000000Z')
    const newer = pemKey(keysDir, '20261120T000000Z')
    const [olderKid, newerKid] = [await thumbprint(older), await thumbprint(newer)]
    const options: TestServiceOptions =
      backend === 'real'
        ? { backend, keysDir, databaseUrl: await freshPostgresDatabase(t) }
        : { backend, keysDir, config: { database: { dataDir: join(tempDir(t, 'sts-pglite-'), 'ledger') } } }

    await t.test('the upgrade imports them: the newest signs, the older stays published as retired', async (t) => {
      const sts = await startTestService(t, options)
      const keys = (await sts.app.inject({ method: 'GET', url: '/v1/keys', headers: sts.admin })).json().keys as Record<string, unknown>[]
      t.same(
        keys.map((key) => [key.kid, key.state, key.origin]),
        [
          [olderKid, 'retired', 'imported'],
          [newerKid, 'current', 'imported'],
        ],
        'the kids are those the release before published (RFC 7638 thumbprints), so its tokens still verify',
      )
      await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
      const issued = await sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await sts.cluster.serviceAccountToken(),
        subject_token_type: JWT_TOKEN_TYPE,
      })
      t.equal(decodeProtectedHeader(String(issued.body.access_token)).kid, newerKid)
      const ledger = await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: sts.admin })
      t.equal(ledger.json().entries[0].kid, newerKid, 'the ledger records the signing key')

      const rows = await sts.services.database.query<{
        kid: string
        private_key: Uint8Array
        public_jwk: Record<string, unknown>
        kek_id: string
      }>('SELECT kid, private_key, public_jwk, kek_id FROM signing_keys ORDER BY kid')
      const kek = new KeyEncryptionKey(Buffer.from(KEY_ENCRYPTION_KEY, 'base64'))
      for (const [kid, privateKey] of [
        [olderKid, older],
        [newerKid, newer],
      ] as const) {
        const row = rows.find((candidate) => candidate.kid === kid)!
        const sealed = Buffer.from(row.private_key)
        const der = privateKey.export({ type: 'pkcs8', format: 'der' })
        const d = Buffer.from(String((privateKey.export({ format: 'jwk' }) as JWK).d), 'base64url')
        t.equal(sealed.indexOf(der.subarray(der.length - 40)), -1, `${kid}: no part of the PKCS#8 key in the row`)
        t.equal(sealed.indexOf(d), -1, `${kid}: nor the private scalar d`)
        t.notOk('d' in row.public_jwk, `${kid}: the stored JWK is public`)
        t.same(JSON.stringify(rows).includes(String((privateKey.export({ format: 'jwk' }) as JWK).d)), false, `${kid}: d in no column`)
        t.equal(row.kek_id, kek.id)
        t.same(kek.open(sealed, kid, row.kek_id), der, `${kid}: what is sealed is the key, for whoever holds the KEK`)
      }
    })

    await t.test('a restart with another PEM file there imports nothing: the import happens once', async (t) => {
      pemKey(keysDir, '20270101T000000Z')
      const sts = await startTestService(t, options)
      const keys = (await sts.app.inject({ method: 'GET', url: '/v1/keys', headers: sts.admin })).json().keys as Record<string, unknown>[]
      t.same(
        keys.map((key) => [key.kid, key.state]),
        [
          [olderKid, 'retired'],
          [newerKid, 'current'],
        ],
      )
    })

    await t.test('a start with another key-encryption key is refused, saying which key the keys need', async (t) => {
      const other = Buffer.alloc(32, 9).toString('base64')
      const config = { ...(options.config ?? {}), keys: { encryptionKey: other } }
      const kek = new KeyEncryptionKey(Buffer.from(KEY_ENCRYPTION_KEY, 'base64'))
      const wrong = new KeyEncryptionKey(Buffer.from(other, 'base64'))
      await t.rejects(startTestService(t, { ...options, config }), {
        name: 'KeyDecryptionError',
        message:
          `signing keys ${olderKid}, ${newerKid} were sealed with the key-encryption key ${kek.id}, which is not configured here ` +
          `(the current one is ${wrong.id}, with no previous one): set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to it, ` +
          'or while rotating the key-encryption key, list it in STS_PREVIOUS_KEY_ENCRYPTION_KEYS (or keys.previousEncryptionKeys, keys.previousEncryptionKeyFiles)',
      })
    })
  })
}
