import t from 'tap'
import { tokenSource, type TokenSourceOptions } from '../../src/token-source/token-source.js'

const attestation = async () => ({ subjectToken: 'x', subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt' })

t.test('options are checked when the source is made, each mistake naming its option', async (t) => {
  const cases: [Partial<TokenSourceOptions>, RegExp][] = [
    [{ sts: 'not a url' }, /`sts` must be the STS's URL/],
    [{ sts: 'ftp://sts.example.org' }, /must be http\(s\), not ftp:/],
    [{ attestation: undefined }, /`attestation` must be an attestation/],
    [{ refreshAt: 1 }, /`refreshAt` must be a number above 0 and below 1, not 1/],
    [{ refreshAt: 0.9, refreshJitter: 0.2 }, /`refreshAt` ± `refreshJitter` must stay between 0 and 1/],
    [{ retry: { baseDelayMs: 0 } }, /`retry.baseDelayMs` must be a positive number of milliseconds, not 0/],
    [{ retry: { baseDelayMs: 5000, maxDelayMs: 1000 } }, /`retry.maxDelayMs` must not be less than `retry.baseDelayMs`/],
    [{ refusalCooldownMs: -1 }, /`refusalCooldownMs` must be a non-negative number of milliseconds, not -1/],
  ]
  for (const [options, message] of cases) {
    t.throws(
      () => tokenSource({ sts: 'https://sts.example.org', attestation, ...options } as TokenSourceOptions),
      { name: 'TypeError', message },
      String(message),
    )
  }
})

t.test('the token endpoint is <sts>/oauth2/token, or the one given', async (t) => {
  const urls: string[] = []
  const fetch: typeof globalThis.fetch = async (input) => {
    urls.push(String(input))
    return Response.json({ access_token: 't', expires_in: 60 })
  }
  for (const options of [
    { sts: 'https://sts.example.org/' },
    { sts: new URL('https://sts.example.org/prefix') },
    { sts: 'https://x', tokenEndpoint: 'https://sts.example.org/token' },
  ]) {
    const source = tokenSource({ ...options, attestation, fetch })
    await source.token()
    source.close()
  }
  t.same(urls, ['https://sts.example.org/oauth2/token', 'https://sts.example.org/prefix/oauth2/token', 'https://sts.example.org/token'])
})

t.test('a request with a malformed audience or scope is a TypeError', async (t) => {
  const source = tokenSource({ sts: 'https://sts.example.org', attestation })
  t.teardown(() => source.close())
  await t.rejects(source.token({ audience: '' }), { name: 'TypeError', message: 'token(): `audience` must be a non-empty string' })
  await t.rejects(source.token({ scope: [1] as unknown as string[] }), {
    name: 'TypeError',
    message: 'token(): `scope` must be a string or a list of strings',
  })
})
