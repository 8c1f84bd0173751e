import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readConsoleFiles } from '../../src/console/console-files.js'

t.test('only flat files of the known kinds are read; anything else is left out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-console-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>')
  writeFileSync(join(dir, 'app.js'), 'export {}')
  writeFileSync(join(dir, 'console.css'), 'body {}')
  writeFileSync(join(dir, 'logo.png'), Buffer.from([0x89, 0x50]))
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>')
  writeFileSync(join(dir, '.env'), 'SECRET=1')
  writeFileSync(join(dir, 'app.js.map'), '{}')
  writeFileSync(join(dir, 'notes.md'), '# notes')
  writeFileSync(join(dir, 'Upper.js'), 'export {}')
  mkdirSync(join(dir, 'nested.js'))
  writeFileSync(join(dir, 'nested.js', 'inner.js'), 'export {}')
  symlinkSync('/etc/hostname', join(dir, 'linked.js'))

  const files = readConsoleFiles(dir)
  t.same(Object.fromEntries([...files].map(([name, file]) => [name, [file.contentType, file.body.toString('hex')]])), {
    'index.html': ['text/html; charset=utf-8', Buffer.from('<!doctype html>').toString('hex')],
    'app.js': ['text/javascript; charset=utf-8', Buffer.from('export {}').toString('hex')],
    'console.css': ['text/css; charset=utf-8', Buffer.from('body {}').toString('hex')],
    'logo.png': ['image/png', '8950'],
    'favicon.svg': ['image/svg+xml', Buffer.from('<svg/>').toString('hex')],
  })
  // The SHA-256 of `export {}`, base64url, cut to 27 characters.
  t.equal(files.get('app.js')!.etag, '"9MXPm7eOhfFdwnGAJgY3zySyokv"')
})

t.test('without index.html it refuses, naming the folder and the setting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-console-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'app.js'), 'export {}')
  t.throws(() => readConsoleFiles(dir), {
    message: `the console's files are missing: no index.html in ${dir} (or set console.enabled: false)`,
  })
  t.throws(() => readConsoleFiles(join(dir, 'absent')), { code: 'ENOENT' })
})
