import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config-error.js'
import { certificatesInPem, loadCertificateFiles, readPemFiles } from '../../src/lib/pem-certificates.js'

const ROOTS = new URL('../../keys/azure/roots/', import.meta.url)
const BALTIMORE = readFileSync(new URL('baltimore-cybertrust-root.pem', ROOTS), 'utf8')
const DIGICERT = readFileSync(new URL('digicert-global-root-g2.pem', ROOTS), 'utf8')
const BROKEN = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
const OPTION = 'attestor test: roots'
const commonName = (x509: { subject: string }) => /CN=([^\n]+)/.exec(x509.subject)![1]!

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
  const cases: { paths: string[]; names: string[]; problems: (string | RegExp)[]; why: string }[] = [
    { paths: ['one.pem'], names: ['Baltimore CyberTrust Root'], problems: [], why: 'a file with one certificate' },
    { paths: ['bundle.pem'], names: ['DigiCert Global Root G2', 'Baltimore CyberTrust Root'], problems: [], why: 'a bundle gives each of its certificates, in order' },
    { paths: ['trust'], names: ['DigiCert Global Root G2', 'Baltimore CyberTrust Root'], problems: [], why: "a directory gives its *.pem files' certificates, in name order" },
    { paths: ['nothing'], names: [], problems: [], why: 'a directory without *.pem files gives nothing, and says nothing itself' },
    { paths: ['empty.pem'], names: [], problems: [`${OPTION}: ${at('empty.pem')} holds no PEM certificate`], why: 'a file without a certificate' },
    {
      paths: ['broken.pem'],
      names: ['Baltimore CyberTrust Root'],
      problems: [new RegExp(`^${OPTION}: certificate 2 of ${at('broken.pem')} cannot be parsed \\(`)],
      why: 'a certificate that cannot be parsed, named by its place in the file',
    },
    {
      paths: ['missing.pem', 'one.pem', 'missing-too.pem'],
      names: ['Baltimore CyberTrust Root'],
      problems: [new RegExp(`^${OPTION}: cannot read ${at('missing.pem')} \\(ENOENT`), new RegExp(`^${OPTION}: cannot read ${at('missing-too.pem')} \\(ENOENT`)],
      why: 'every unreadable path is reported, and the readable ones still read',
    },
  ]
  for (const { paths, names, problems, why } of cases) {
    const found: string[] = []
    const certificates = certificatesInPem(readPemFiles(paths.map(at), OPTION, found), OPTION, found, commonName)
    t.same(certificates, names, `${why}: certificates`)
    t.match(found, problems, `${why}: problems`)
    t.equal(found.length, problems.length, `${why}: no other problem`)
  }
})

t.test('PEM text given inline is named as the caller says, and describe can refuse a certificate', async (t) => {
  const problems: string[] = []
  const described = certificatesInPem([{ name: 'entry 1', text: `${BALTIMORE}${DIGICERT}` }, { name: 'entry 2', text: '' }], 'AWS certificates', problems, (x509) => {
    if (commonName(x509).startsWith('Baltimore')) throw new Error('not this one')
    return commonName(x509)
  })
  t.same(described, ['DigiCert Global Root G2'])
  t.same(problems, ['AWS certificates: certificate 1 of entry 1 cannot be parsed (not this one)', 'AWS certificates: entry 2 holds no PEM certificate'])
})

t.test('configured trust material: a ConfigError with every problem, or when there is no certificate at all', async (t) => {
  const dir = t.testdir({ 'one.pem': BALTIMORE, 'empty.pem': '', nothing: {} })
  t.same(loadCertificateFiles([join(dir, 'one.pem')], OPTION, commonName), ['Baltimore CyberTrust Root'])
  const every = t.throws(() => loadCertificateFiles([join(dir, 'missing.pem'), join(dir, 'empty.pem'), join(dir, 'one.pem')], OPTION, commonName)) as ConfigError
  t.ok(every instanceof ConfigError)
  t.match(every.problems, [/cannot read .*missing\.pem \(ENOENT/, /empty\.pem holds no PEM certificate$/])
  t.equal(every.problems.length, 2)
  const none = t.throws(() => loadCertificateFiles([join(dir, 'nothing')], OPTION, commonName)) as ConfigError
  t.same(none.problems, [`${OPTION}: no certificate found in ${join(dir, 'nothing')}`])
})
