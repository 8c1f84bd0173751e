import t from 'tap'
import { sameHtu } from '../../src/dpop/htu.js'

/** RFC 9449 section 4.3: htu is compared without query and fragment, after RFC 3986 normalization. */

const ENDPOINT = 'https://sts.example.org/oauth2/token'

t.test('the same URL in another spelling is the same endpoint', async (t) => {
  for (const htu of [
    ENDPOINT,
    'https://sts.example.org/oauth2/token?x=1',
    'https://sts.example.org/oauth2/token#frag',
    'HTTPS://STS.Example.ORG/oauth2/token',
    'https://sts.example.org:443/oauth2/token',
    'https://sts.example.org/oauth2/./token',
  ]) {
    t.ok(sameHtu(htu, ENDPOINT), htu)
  }
  t.ok(sameHtu('https://sts.example.org/a%2fb', 'https://sts.example.org/a%2Fb'), 'percent-encodings compare case-blind')
})

t.test('another scheme, host, port or path is another endpoint', async (t) => {
  for (const htu of [
    'http://sts.example.org/oauth2/token',
    'https://sts.example.org.evil/oauth2/token',
    'https://sts.example.org:8443/oauth2/token',
    'https://sts.example.org/oauth2/token/',
    'https://sts.example.org/oauth2/Token',
    'https://sts.example.org/oauth2/introspect',
    'https://user@sts.example.org/oauth2/token',
    'not a url',
    '',
  ]) {
    t.notOk(sameHtu(htu, ENDPOINT), htu)
  }
})
