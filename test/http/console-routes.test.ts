import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { packageRoot } from '../../src/lib/package-root.js'
import { CONSOLE_CSP } from '../../src/http/console-routes.js'
import { startTestService } from '../support/service.js'

const CONSOLE_DIR = join(packageRoot(), 'console')
const SHIPPED = readdirSync(CONSOLE_DIR).sort()

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

/** What every answer under /console carries, whatever it is. */
function hasConsoleHeaders(t: Test, response: LightMyRequestResponse, cacheControl: string): void {
  const { headers } = response
  t.same(
    {
      csp: headers['content-security-policy'],
      nosniff: headers['x-content-type-options'],
      referrer: headers['referrer-policy'],
      frame: headers['x-frame-options'],
      opener: headers['cross-origin-opener-policy'],
      resource: headers['cross-origin-resource-policy'],
      cache: headers['cache-control'],
    },
    {
      csp: CSP,
      nosniff: 'nosniff',
      referrer: 'no-referrer',
      frame: 'DENY',
      opener: 'same-origin',
      resource: 'same-origin',
      cache: cacheControl,
    },
    `the console's headers on ${response.statusCode}`,
  )
}

t.test('the policy is the strict one the README states', async (t) => {
  t.equal(CONSOLE_CSP, CSP)
})

t.test('every shipped file is served from memory with its type, the strict headers and a validator', async (t) => {
  const { app } = await startTestService(t, { backend: 'embedded' })
  t.same(SHIPPED, [
    'api.js',
    'app.js',
    'apply-dialog.js',
    'console.css',
    'dialogs.js',
    'dom.js',
    'favicon.svg',
    'index.html',
    'inventory-view.js',
    'ledger-view.js',
    'report-view.js',
    'revocations-view.js',
  ])
  const types: Record<string, string> = {
    js: 'text/javascript; charset=utf-8',
    css: 'text/css; charset=utf-8',
    svg: 'image/svg+xml',
    html: 'text/html; charset=utf-8',
  }
  for (const name of SHIPPED) {
    const response = await app.inject({ method: 'GET', url: `/console/${name}` })
    t.equal(response.statusCode, 200, name)
    t.equal(response.headers['content-type'], types[name.split('.').pop()!], `${name}'s type`)
    t.equal(response.body, readFileSync(join(CONSOLE_DIR, name), 'utf8'), `${name} as shipped`)
    hasConsoleHeaders(t, response, 'no-cache')
    const etag = response.headers.etag as string
    t.match(etag, /^"[A-Za-z0-9_-]{27}"$/)
    const again = await app.inject({ method: 'GET', url: `/console/${name}`, headers: { 'if-none-match': `"other", ${etag}` } })
    t.equal(again.statusCode, 304, `${name} unchanged`)
    t.equal(again.body, '')
    hasConsoleHeaders(t, again, 'no-cache')
    const stale = await app.inject({ method: 'GET', url: `/console/${name}`, headers: { 'if-none-match': '"other"' } })
    t.equal(stale.statusCode, 200, `${name} with another validator`)
  }
  const page = await app.inject({ method: 'GET', url: '/console/' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(page.body, readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8'))
  hasConsoleHeaders(t, page, 'no-cache')

  const bare = await app.inject({ method: 'GET', url: '/console' })
  t.equal(bare.statusCode, 308, 'the page without its slash: its relative links would resolve against /')
  t.equal(bare.headers.location, '/console/')
  hasConsoleHeaders(t, bare, 'no-store')
  const head = await app.inject({ method: 'HEAD', url: '/console/app.js' })
  t.equal(head.statusCode, 200)
  hasConsoleHeaders(t, head, 'no-cache')
})

t.test('any other path under /console is a 404 with the same headers: nothing outside the files read at start', async (t) => {
  const { app } = await startTestService(t, { backend: 'embedded' })
  for (const url of [
    '/console/nope.js',
    '/console/index.htm',
    '/console/INDEX.HTML',
    '/console/package.json',
    '/console/..%2Fpackage.json',
    '/console/%2e%2e%2fpackage.json',
    '/console/..%5Cpackage.json',
    '/console/%2e%2e/package.json',
    '/console/../package.json',
    '/console/../../etc/passwd',
    '/console/./index.html/',
    '/console/app.js/',
    '/console/app.js%00',
    '/console/.gitignore',
    '/console/a/b.js',
    '/console/__proto__',
    '/console/constructor',
    '/console//etc/passwd',
  ]) {
    const response = await app.inject({ method: 'GET', url })
    const what = `GET ${url}`
    // Whatever the router made of it: never a file, never another route's answer.
    t.not(response.statusCode, 200, what)
    // A dot segment (`..`, `%2e%2e`) takes the router out of /console: the app's own 404 answers it.
    if (/\/(?:\.\.|%2e%2e)\//i.test(url)) {
      t.equal(response.statusCode, 404, what)
      t.equal(response.json().reason, 'route_not_found', what)
    } else {
      t.equal(response.statusCode, 404, what)
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', what)
      t.equal(response.json().reason, 'route_not_found', what)
      hasConsoleHeaders(t, response, 'no-store')
    }
    t.notMatch(response.body, /"name": "seed-sts"|root:/, `${what} leaks no file`)
  }
  const post = await app.inject({ method: 'POST', url: '/console/app.js', payload: {} })
  t.equal(post.statusCode, 404, 'only GET and HEAD')
  hasConsoleHeaders(t, post, 'no-store')
})

t.test('console.enabled: false serves nothing under /console', async (t) => {
  const { app } = await startTestService(t, { backend: 'embedded', config: { console: { enabled: false } } })
  for (const url of ['/console', '/console/', '/console/app.js']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, url)
    t.same(response.json(), {
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: `no route for GET ${url}`,
      instance: url,
      reason: 'route_not_found',
    })
    t.equal(response.headers['content-security-policy'], undefined, `${url}: the console's own 404s are gone too`)
  }
})

t.test('the files run nothing inline and touch no storage, cookie or URL with the token', async (t) => {
  const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8')
  t.same(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), null, 'no inline script')
  t.same(html.match(/<style|\sstyle=|\son[a-z]+=|javascript:/gi), null, 'no inline style or handler')
  t.same(
    html.match(/(?:src|href)="(?!#)[^"]*"/g)?.filter((link) => !/^(?:src|href)="[a-z0-9-]+\.[a-z]+"$/.test(link)),
    [],
    'only relative links to its own files',
  )
  for (const name of SHIPPED.filter((file) => file.endsWith('.js'))) {
    const source = readFileSync(join(CONSOLE_DIR, name), 'utf8')
    t.same(
      source.match(/localStorage|sessionStorage|document\.cookie|indexedDB|innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function/g),
      null,
      name,
    )
  }
})
