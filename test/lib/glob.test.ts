import t from 'tap'
import { globMatches } from '../../src/lib/glob.js'

t.test('globs match whole values, one path segment per star', async (t) => {
  const base = 'spiffe://example.org/k8s/prod/ns/payments/sa'
  const cases: [string, string, boolean][] = [
    [`${base}/*`, `${base}/api`, true],
    [`${base}/*`, `${base}/api/extra`, false],
    [`${base}/*`, `${base}/`, true],
    ['spiffe://example.org/k8s/prod/**', `${base}/api`, true],
    ['spiffe://example.org/k8s/prod/**', 'spiffe://example.org/k8s/staging/ns/a/sa/b', false],
    [`${base}/api`, `${base}/api`, true],
    [`${base}/api`, `${base}/api2`, false, ],
    [`${base}/api`, `x${base}/api`, false],
    [`${base}/ap?`, `${base}/api`, true],
    [`${base}/ap?`, `${base}/ap/`, false],
    ['repo:acme/*', 'repo:acme/app', true],
    ['repo:acme/*', 'repo:acme/app/../../other', false],
    ['a.b', 'aXb', false],
    ['(a|b)', 'a', false],
    ['api-*', 'api-7d9f8b-x2x4q', true],
    ['api-*', 'worker-1', false],
  ]
  for (const [glob, value, expected] of cases) t.equal(globMatches(glob, value), expected, `${glob} ~ ${value}`)
})
