import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { UNAVAILABLE } from '../../src/keys/pkcs11/pkcs11-token.js'
import type { FakeCluster } from '../support/cluster.js'
import { ADMIN_TOKEN, baseConfig, exchangeOnce, ready } from '../support/compiled-server.js'
import { eventually } from '../support/eventually.js'
import { startServerProcess, type ServerProcess } from '../support/server-process.js'
import { softHsmToken } from '../support/softhsm.js'

/**
 * The compiled server with `keys.signer: pkcs11` as an operator runs it: a configuration file, the PIN
 * from STS_PKCS11_PIN or a file, SoftHSM2 found through SOFTHSM2_CONF, and no key-encryption key at
 * all. A wrong PIN stops the start, naming the setting; an HSM lost mid-run costs 503s, never the process.
 */

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-pkcs11-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function exchange(started: ServerProcess, cluster: FakeCluster) {
  const response = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await cluster.serviceAccountToken(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

t.test('with signer pkcs11, a wrong PIN stops the start with exit code 2, naming the setting', async (t) => {
  const token = softHsmToken(t)
  const { config } = await baseConfig(t)
  const started = await startServerProcess(
    t,
    { ...config, keys: { dir: tempDir(t), signer: 'pkcs11', pkcs11: { module: token.module, tokenLabel: token.label } } },
    { STS_ADMIN_TOKEN: ADMIN_TOKEN, SOFTHSM2_CONF: token.conf, STS_PKCS11_PIN: 'not-the-pin' },
  )
  t.equal(await started.exited, 2)
  const output = started.output()
  t.notMatch(output, 'not-the-pin', 'nothing of the PIN')
  t.equal(
    output.slice(output.indexOf('seed-sts: ')),
    'seed-sts: failed to start: invalid configuration:\n' +
      '  - keys.pkcs11.pin: the PKCS#11 token "seed-sts" refused the PIN (C_Login: CKR_PIN_INCORRECT): ' +
      'check STS_PKCS11_PIN or keys.pkcs11.pinFile (a few wrong tries lock the PIN)\n',
    'the last words say what to fix',
  )
})

t.test('the HSM lost mid-run: a compiled server answers 503 signer_unavailable, stays up, and issues again once it is back', async (t) => {
  const token = softHsmToken(t)
  const { cluster, config } = await baseConfig(t)
  const dir = tempDir(t)
  const pinFile = join(dir, 'pin')
  writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 })
  const started = await startServerProcess(
    t,
    { ...config, keys: { dir, signer: 'pkcs11', pkcs11: { module: token.module, tokenLabel: token.label, pinFile } } },
    { LOG_LEVEL: 'info', STS_ADMIN_TOKEN: ADMIN_TOKEN, SOFTHSM2_CONF: token.conf },
  )
  await ready(t, started)
  await exchangeOnce(t, started, cluster)

  token.remove()
  for (const attempt of [1, 2, 3]) {
    t.same(
      await exchange(started, cluster),
      { status: 503, body: { error: 'temporarily_unavailable', error_description: UNAVAILABLE, error_reason: 'signer_unavailable' } },
      `attempt ${attempt}`,
    )
  }
  t.equal(started.child.exitCode, null, 'the process goes on')
  t.equal((await fetch(`${started.url}/healthz`)).status, 200)

  token.restore()
  const recovered = await eventually(t, () => exchange(started, cluster), {
    until: (answer) => answer.status === 200,
    what: 'a token once the HSM is back',
  })
  const jwks = createLocalJWKSet((await (await fetch(`${started.url}/.well-known/jwks.json`)).json()) as { keys: [] })
  await t.resolves(jwtVerify(String(recovered.body.access_token), jwks, { typ: 'at+jwt' }), 'signed by the HSM, verified with the JWKS')

  const logs = started.logs()
  t.match(
    logs.filter((line) => /PKCS#11 token/.test(String(line.msg))).map((line) => [line.level, line.msg]),
    [
      [30, 'signing keys in a PKCS#11 token'],
      [40, /^the PKCS#11 token "seed-sts" failed to sign: C_\w+: CKR_\w+; reconnecting$/],
      [50, /^the PKCS#11 token "seed-sts" cannot be reconnected: /],
    ],
    'the log says what failed, and when it reconnected',
  )
  t.match(
    logs.find((line) => line.msg === 'reconnected to the PKCS#11 token'),
    { level: 30, tokenLabel: 'seed-sts' },
  )
  t.notMatch(started.output(), token.pin, 'the PIN is never logged')
})
