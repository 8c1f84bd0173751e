import t from 'tap'
import { ADMIN_TOKEN, TRUST_DOMAIN } from '../support/service.js'
import { cells, runCli, startCli } from '../support/cli-harness.js'
import { deployment, NEW_KEK, NEW_KEK_ID, OLD_KEK, OLD_KEK_ID, rotate } from '../support/kek-instances.js'

/** `sts keys list|rotate|revoke|reseal` against the real service. */

interface Key {
  kid: string
  state: string
  activatesAt: string | null
}

t.test('sts keys: list, rotate, revoke', async (t) => {
  const harness = await startCli(t)
  const { sts, cli, json } = harness
  const [first] = (await json<{ keys: Key[] }>('keys', 'list')).keys
  const table = cells((await cli('keys', 'list')).stdout)
  t.same(table[0], ['KID', 'ALG', 'STATE', 'KEK', 'PUBLISHED', 'SIGNS FROM', 'RETIRED', 'UNPUBLISHED AFTER', 'REVOKED'])
  t.same(table[1]?.slice(0, 4), [first!.kid, 'ES256', 'current', OLD_KEK_ID])

  const rotated = await cli('keys', 'rotate')
  const next = (await json<{ keys: Key[] }>('keys', 'list')).keys.find((key) => key.state === 'next')!
  t.same(rotated, {
    code: 0,
    stdout: `published the next key: ${next.kid}, signing from ${next.activatesAt!.replace(/\.\d{3}Z$/, 'Z')}\n`,
    stderr: '',
  })
  t.match((await cli('keys', 'rotate')).stdout, `a next key is waiting already: ${next.kid}`)

  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  await harness.issueToken('ledger-api')
  const revoked = await cli('keys', 'revoke', first!.kid, '--reason', 'INC-1234: key material exposed')
  t.same(revoked, { code: 0, stdout: `revoked key ${first!.kid}: 1 live token cut off; key ${next.kid} signs in its place\n`, stderr: '' })
  t.same(
    (await json<{ keys: Key[] }>('keys', 'list')).keys.map((key) => [key.kid, key.state]).sort(),
    [
      [first!.kid, 'revoked'],
      [next.kid, 'current'],
    ].sort(),
  )
  t.same(await cli('keys', 'revoke', first!.kid), {
    code: 2,
    stdout: '',
    stderr: 'sts: --reason R is required\nusage: sts keys revoke <kid> --reason R [--json]\n',
  })
  t.same(await cli('keys', 'revoke', 'no-such-kid', '--reason', 'x'), {
    code: 1,
    stdout: '',
    stderr: 'sts: no signing key has the kid no-such-kid\n',
  })
})

t.test('sts keys reseal: what was sealed again under the current key-encryption key, and what remains', async (t) => {
  const all = await deployment(t)
  const old = await all.start({ encryptionKey: OLD_KEK })
  const keys = { encryptionKey: NEW_KEK, previousEncryptionKeys: [OLD_KEK], maintenanceIntervalSeconds: 3600 }
  const { cli } = await startCli(t, { databaseUrl: all.databaseUrl, cluster: all.cluster, config: { keys } })
  // Its upkeep re-sealed the first key at its start; the old instance, still running, makes one more under the old KEK.
  await rotate(t, old, all)
  t.same(await cli('keys', 'reseal'), {
    code: 0,
    stdout: `re-sealed 1 key under the key-encryption key ${NEW_KEK_ID}; 0 keys remain under others\n`,
    stderr: '',
  })
  t.same(await cli('keys', 'reseal'), {
    code: 0,
    stdout: `re-sealed 0 keys under the key-encryption key ${NEW_KEK_ID}; 0 keys remain under others\n`,
    stderr: '',
  })
  const kekColumn = cells((await cli('keys', 'list')).stdout).map((row) => row[3])
  t.same(kekColumn, ['KEK', NEW_KEK_ID, NEW_KEK_ID])

  // Against the old instance: nothing it can re-seal, and each key it cannot open named with its KEK.
  const url = await old.app.listen({ host: '127.0.0.1', port: 0 })
  const [firstKid, secondKid] = cells((await cli('keys', 'list')).stdout)
    .slice(1)
    .map((row) => row[0])
  t.same(await runCli(['keys', 'reseal'], { STS_URL: url, STS_ADMIN_TOKEN: ADMIN_TOKEN }), {
    code: 0,
    stdout:
      `re-sealed 0 keys under the key-encryption key ${OLD_KEK_ID}; 2 keys remain under others\n` +
      `  ${firstKid} is sealed under ${NEW_KEK_ID}, not held by this instance\n` +
      `  ${secondKid} is sealed under ${NEW_KEK_ID}, not held by this instance\n`,
    stderr: '',
  })
})
