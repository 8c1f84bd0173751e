import t from 'tap'
import { TRUST_DOMAIN } from '../support/service.js'
import { cells, startCli } from '../support/cli-harness.js'

/** `sts keys list|rotate|revoke` against the real service. */

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
  t.same(table[0], ['KID', 'ALG', 'STATE', 'PUBLISHED', 'SIGNS FROM', 'RETIRED', 'UNPUBLISHED AFTER', 'REVOKED'])
  t.same(table[1]?.slice(0, 3), [first!.kid, 'ES256', 'current'])

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
