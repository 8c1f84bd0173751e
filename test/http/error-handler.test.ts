import t from 'tap'
import { startTestService } from '../support/service.js'

/**
 * The error format is the scope's, not the URL's: the OAuth scope (mounted at /oauth2) answers RFC 6749
 * bodies for its routes and the paths under it no route serves; everything else answers problems.
 */
t.test('unknown paths answer in the format of the scope they fall in', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  for (const url of ['/oauth2/nothing', '/oauth2/token/extra', '/oauth2/']) {
    const response = await sts.app.inject({ method: 'GET', url: `${url}?token=secret` })
    t.equal(response.statusCode, 404, url)
    t.equal(response.headers['content-type'], 'application/json; charset=utf-8', `${url}: OAuth JSON`)
    t.same(
      response.json(),
      { error: 'invalid_request', error_description: `no route for GET ${url}`, error_reason: 'route_not_found' },
      `${url}: no query string echoed`,
    )
  }
  for (const url of ['/nothing', '/v1/nothing', '/oauth']) {
    const response = await sts.app.inject({ method: 'DELETE', url })
    t.equal(response.statusCode, 404, url)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', `${url}: a problem`)
    t.same(response.json(), {
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: `no route for DELETE ${url}`,
      instance: url,
      reason: 'route_not_found',
    })
  }
})

t.test("Fastify's own refusals get the scope's format and a reason", async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const xml = await sts.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: { ...sts.admin, 'content-type': 'application/xml' },
    payload: '<grant/>',
  })
  t.equal(xml.statusCode, 415)
  t.same(xml.json(), {
    type: 'about:blank',
    title: 'Unsupported media type',
    status: 415,
    detail: 'Unsupported Media Type',
    instance: '/v1/grants',
    reason: 'media_type_unsupported',
  })
  const oauthXml = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/xml' },
    payload: '<token/>',
  })
  t.equal(oauthXml.statusCode, 415)
  t.same(oauthXml.json(), { error: 'invalid_request', error_description: 'Unsupported Media Type', error_reason: 'media_type_unsupported' })
})
