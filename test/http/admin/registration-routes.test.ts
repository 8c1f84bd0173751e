import t from 'tap'
import { startTestService, NOW, type TestService } from '../../support/service.js'

const DAY = 86_400_000
const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY)

/** Registers instances through the store the exchange uses: what the admin API shows is what admit wrote. */
async function seed(sts: TestService): Promise<void> {
  const admit = (attestor: string, instance: string, daysAgo: number, nonce: string | undefined = `nonce-of-${instance}-0123456789`) =>
    sts.services.registrations.admit({
      attestor,
      instance,
      nonce,
      mode: nonce ? 'nonce' : 'always',
      clientAddress: '10.0.0.7',
      now: at(daysAgo),
    })
  await admit('prod-aws', 'i-0aaa', 40)
  await admit('prod-aws', 'i-0bbb', 10)
  await admit('prod-aws', 'i-0bbb', 1)
  await admit('prod-azure', 'vm-1', 3, undefined)
}

const REGISTRATION_0BBB = {
  attestor: 'prod-aws',
  instance: 'i-0bbb',
  nonceBound: true,
  firstSeen: at(10).toISOString(),
  lastSeen: at(1).toISOString(),
  lastAddress: '10.0.0.7',
  attestations: 2,
}

t.test('list, show and forget registrations; forgetting is audited', async (t) => {
  const sts = await startTestService(t)
  await seed(sts)
  const call = (method: 'GET' | 'DELETE', url: string, payload?: object) =>
    sts.app.inject({ method, url, headers: sts.admin, ...(payload ? { payload } : {}) })

  const all = await call('GET', '/v1/registrations')
  t.equal(all.statusCode, 200)
  t.same(
    all.json().registrations.map((r: { instance: string }) => r.instance),
    ['i-0aaa', 'i-0bbb', 'vm-1'],
  )
  t.same(all.json().registrations[1], REGISTRATION_0BBB)
  t.notOk('nextCursor' in all.json())

  const instances = async (query: string) =>
    (await call('GET', `/v1/registrations?${query}`)).json().registrations.map((r: { instance: string }) => r.instance)
  t.same(await instances('attestor=prod-azure'), ['vm-1'])
  t.same(await instances('instance=i-0*'), ['i-0aaa', 'i-0bbb'], 'an instance glob')
  t.same(await instances('instance=i-0aaa'), ['i-0aaa'], 'an exact instance')
  t.same(await instances(`lastSeenBefore=${at(30).toISOString()}`), ['i-0aaa'])
  t.same(await instances(`lastSeenAfter=${at(5).toISOString()}`), ['i-0bbb', 'vm-1'])

  const first = (await call('GET', '/v1/registrations?limit=2')).json()
  t.same(
    first.registrations.map((r: { instance: string }) => r.instance),
    ['i-0aaa', 'i-0bbb'],
  )
  t.same((await call('GET', `/v1/registrations?limit=2&cursor=${first.nextCursor}`)).json(), {
    registrations: [(await call('GET', '/v1/registrations/prod-azure/vm-1')).json().registration],
  })

  const shown = await call('GET', '/v1/registrations/prod-aws/i-0bbb')
  t.equal(shown.statusCode, 200)
  t.same(shown.json(), { registration: REGISTRATION_0BBB })

  sts.clock.advance(60_000)
  const forgotten = await sts.app.inject({
    method: 'DELETE',
    url: '/v1/registrations/prod-aws/i-0bbb',
    headers: { ...sts.admin, 'x-request-id': 'req-forget-1' },
    payload: { reason: 'rebuilt from its image: nonce lost (CHG-88)' },
  })
  t.equal(forgotten.statusCode, 200)
  t.same(forgotten.json(), { registration: REGISTRATION_0BBB }, 'answers what was forgotten')
  t.same((await call('GET', '/v1/registrations/prod-aws/i-0bbb')).json(), {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: 'no registration of instance i-0bbb with attestor prod-aws',
    instance: '/v1/registrations/prod-aws/i-0bbb',
    reason: 'registration_not_found',
  })
  const twice = await call('DELETE', '/v1/registrations/prod-aws/i-0bbb', { reason: 'again' })
  t.equal(twice.statusCode, 404, 'forgetting twice finds nothing')

  const audit = (await call('GET', '/v1/audit?targetType=registration')).json()
  t.same(audit.entries, [
    {
      id: audit.entries[0]?.id,
      at: new Date(sts.clock.now()).toISOString(),
      actor: 'bootstrap',
      action: 'registration.forget',
      targetType: 'registration',
      targetId: 'prod-aws/i-0bbb',
      before: REGISTRATION_0BBB,
      after: { reason: 'rebuilt from its image: nonce lost (CHG-88)' },
      requestId: 'client:req-forget-1',
    },
  ])
})

t.test('refusals: 400, 401, 403, 404 with their whole bodies', async (t) => {
  const sts = await startTestService(t)
  await seed(sts)
  const call = (method: 'GET' | 'DELETE', url: string, authorization: string | undefined, payload?: object) =>
    sts.app.inject({ method, url, headers: authorization ? { authorization } : {}, ...(payload ? { payload } : {}) })
  const admin = sts.admin.authorization

  t.same(
    (await call('DELETE', '/v1/registrations/prod-aws/i-0aaa', admin, {})).json(),
    {
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: 'the request is not valid: reason: Invalid input: expected string, received undefined',
      instance: '/v1/registrations/prod-aws/i-0aaa',
      reason: 'input_invalid',
      errors: [{ path: 'reason', message: 'Invalid input: expected string, received undefined' }],
    },
    'forgetting must say why',
  )
  t.same((await call('DELETE', '/v1/registrations/prod-aws/i-0aaa', admin, { reason: '  ' })).json().errors, [
    { path: 'reason', message: 'say why the registration is forgotten' },
  ])
  const noBody = await call('DELETE', '/v1/registrations/prod-aws/i-0aaa', admin)
  t.equal(noBody.statusCode, 400, 'no body, no reason')
  t.ok(await sts.services.registrations.get('prod-aws', 'i-0aaa'), 'nothing refused was forgotten')

  const badQuery = await call('GET', '/v1/registrations?lastSeenBefore=yesterday&limit=0&colour=red', admin)
  t.equal(badQuery.statusCode, 400)
  t.same(
    badQuery.json().errors.map((e: { path: string }) => e.path),
    ['lastSeenBefore', 'limit', '(query)'],
    'every problem at once',
  )
  const alsoBackwards = await call(
    'GET',
    `/v1/registrations?lastSeenBefore=${at(5).toISOString()}&lastSeenAfter=${at(1).toISOString()}&limit=0`,
    admin,
  )
  t.same(
    alsoBackwards.json().errors.map((e: { path: string }) => e.path),
    ['limit', 'lastSeenBefore'],
    'the order of the period too, beside other problems',
  )
  const backwards = await call('GET', `/v1/registrations?lastSeenBefore=${at(5).toISOString()}&lastSeenAfter=${at(1).toISOString()}`, admin)
  t.same(backwards.json().errors, [{ path: 'lastSeenBefore', message: 'must be after lastSeenAfter' }])
  t.same((await call('GET', '/v1/registrations?cursor=bogus', admin)).json().errors, [{ path: 'cursor', message: 'invalid cursor' }])

  t.same((await call('DELETE', '/v1/registrations/prod-aws/i-none', admin, { reason: 'x' })).json(), {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: 'no registration of instance i-none with attestor prod-aws',
    instance: '/v1/registrations/prod-aws/i-none',
    reason: 'registration_not_found',
  })

  t.same((await call('GET', '/v1/registrations', undefined)).json(), {
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'an admin bearer token is required (Authorization: Bearer <token>)',
    instance: '/v1/registrations',
    reason: 'admin_token_missing',
  })
  const reader = (
    await call('POST' as 'GET', '/v1/admin-tokens', admin, { name: 'registration-reader', roles: ['registrations:read'] })
  ).json().token
  const scoped = `Bearer ${reader}`
  t.equal((await call('GET', '/v1/registrations/prod-aws/i-0aaa', scoped)).statusCode, 200, 'a role it has')
  t.same(
    (await call('DELETE', '/v1/registrations/prod-aws/i-0aaa', scoped, { reason: 'x' })).json(),
    {
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      detail: 'the admin token registration-reader does not have the role registrations:write',
      instance: '/v1/registrations/prod-aws/i-0aaa',
      reason: 'role_missing',
    },
    'reading is not forgetting',
  )
  const granter = (await call('POST' as 'GET', '/v1/admin-tokens', admin, { name: 'grant-reader', roles: ['grants:read'] })).json().token
  t.equal((await call('GET', '/v1/registrations', `Bearer ${granter}`)).statusCode, 403, 'another role is not this one')
  t.same((await sts.services.audit.list({ targetType: 'registration', limit: 10 })).items, [], 'nothing refused is on the audit log')
})
