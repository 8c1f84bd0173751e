import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config-error.js'
import { certificatesInPem, loadCertificateFiles } from '../../src/lib/pem-certificates.js'

const ROOTS = new URL('../../keys/azure/roots/', import.meta.url)
const BALTIMORE = readFileSync(new URL('baltimore-cybertrust-root.pem', ROOTS), 'utf8')
const DIGICERT = readFileSync(new URL('digicert-global-root-g2.pem', ROOTS), 'utf8')
const BROKEN = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
const OPTION = 'attestor test: roots'
const commonName = (x509: { subject: string }) => /CN=([^\n]+)/.exec(x509.subject)![1]

t.test('what a set of paths holds: each certificate, in order, and every problem naming its file', async (t) => {
  const dir = t.testdir({
    'one.pem': BALTIMORE,
    'bundle.pem': `# two roots\n${DIGICERT}\n${BALTIMORE}`,
    'empty.pem': 'nothing here\n',
    'broken.pem': `${BALTIMORE}\n${BROKEN}`,
    trust: { 'b.pem': BALTIMORE, 'a.pem': DIGICERT, 'notes.txt': 'not read' },
    nothing: { 'notes.txt': 'not read' },
  })
  const at = (name: string) => join(dir, name)
  const loaded: [string[], string[], string][] = [
    [['one.pem'], ['Baltimore CyberTrust Root'], 'a file with one certificate'],
    [['bundle.pem'], ['DigiCert Global Root G2', 'Baltimore CyberTrust Root'], 'a bundle gives each of its certificates, in order'],
    [['trust'], ['DigiCert Global Root G2', 'Baltimore CyberTrust Root'], "a directory gives its *.pem files' certificates, in name order"],
    [
      ['one.pem', 'trust'],
      ['Baltimore CyberTrust Root', 'DigiCert Global Root G2', 'Baltimore CyberTrust Root'],
      'paths in the order given',
    ],
  ]
  for (const [paths, names, why] of loaded) t.same(loadCertificateFiles(paths.map(at), OPTION, commonName), names, why)

  const refused: [string[], (string | RegExp)[], string][] = [
    [['empty.pem'], [`${OPTION}: ${at('empty.pem')} holds no PEM certificate`], 'a file without a certificate'],
    [
      ['broken.pem'],
      [new RegExp(`^${OPTION}: certificate 2 of ${at('broken.pem')} cannot be parsed \\(`)],
      'a certificate that cannot be parsed, named by its place in the file',
    ],
    [
      ['missing.pem', 'one.pem', 'empty.pem', 'missing-too.pem'],
      [
        new RegExp(`^${OPTION}: cannot read ${at('missing.pem')} \\(ENOENT`),
        /empty\.pem holds no PEM certificate$/,
        new RegExp(`^${OPTION}: cannot read ${at('missing-too.pem')} \\(ENOENT`),
      ],
      'every problem at once, in the order of the paths',
    ],
    [['nothing'], [`${OPTION}: no certificate found in ${at('nothing')}`], 'a directory without *.pem files holds no certificate'],
  ]
  for (const [paths, problems, why] of refused) {
    const error = t.throws(() => loadCertificateFiles(paths.map(at), OPTION, commonName), why) as ConfigError
    t.ok(error instanceof ConfigError, `${why}: a configuration problem`)
    t.match(error.problems, problems, why)
    t.equal(error.problems.length, problems.length, `${why}: no other problem`)
  }
})

t.test('PEM text given inline is named as the caller says, and describe can refuse a certificate', async (t) => {
  const problems: string[] = []
  const described = certificatesInPem(
    [
      { name: 'entry 1', text: `${BALTIMORE}${DIGICERT}` },
      { name: 'entry 2', text: '' },
    ],
    'AWS certificates',
    problems,
    (x509) => {
      if (commonName(x509).startsWith('Baltimore')) throw new Error('not this one')
      return commonName(x509)
    },
  )
  t.same(described, ['DigiCert Global Root G2'])
  t.same(problems, [
    'AWS certificates: certificate 1 of entry 1 cannot be parsed (not this one)',
    'AWS certificates: entry 2 holds no PEM certificate',
  ])
})
