import t from 'tap'
import {
  ConflictError,
  ForbiddenError,
  InvalidGrantError,
  InvalidInputError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  RateLimitedError,
  ServiceUnavailableError,
  StoreDataError,
  UnauthenticatedError,
  UnsupportedGrantTypeError,
  UnsupportedMediaTypeError,
} from '../../src/errors.js'
import { failureOf, oauthCodeOf, problemTitleOf } from '../../src/http/error-mapping.js'

/** Each kind of domain error, as the wire sees it: status, OAuth `error`, problem title and reason. */
t.test('every domain error maps to its status, OAuth code and problem title', async (t) => {
  const rows = [
    [new InvalidRequestError('m', 'parameter_missing'), 400, 'invalid_request', 'Bad request'],
    [new InvalidGrantError('m', 'signature_invalid'), 400, 'invalid_grant', 'Bad request'],
    [new InvalidScopeError('m', 'scope_not_granted'), 400, 'invalid_scope', 'Bad request'],
    [new InvalidTargetError('m', 'audience_not_granted'), 400, 'invalid_target', 'Bad request'],
    [new UnsupportedGrantTypeError('m', 'grant_type_unsupported'), 400, 'unsupported_grant_type', 'Bad request'],
    [new InvalidInputError('m', [{ path: 'a', message: 'b' }]), 400, 'invalid_request', 'Invalid request'],
    [new UnauthenticatedError('m', 'admin_token_missing'), 401, 'invalid_token', 'Unauthorized'],
    [new ForbiddenError('m', 'role_missing'), 403, 'insufficient_scope', 'Forbidden'],
    [new NotFoundError('m', 'grant_not_found'), 404, 'invalid_request', 'Not found'],
    [new ConflictError('m', 'admin_token_name_taken'), 409, 'invalid_request', 'Conflict'],
    [new PreconditionFailedError('m', 'version_mismatch'), 412, 'invalid_request', 'Precondition failed'],
    [new UnsupportedMediaTypeError('m'), 415, 'invalid_request', 'Unsupported media type'],
    [new PreconditionRequiredError('m', 'if_match_required'), 428, 'invalid_request', 'Precondition required'],
    [new RateLimitedError('m', 'rate_limited'), 429, 'temporarily_unavailable', 'Too many requests'],
    [new ServiceUnavailableError('m', 'ledger_unavailable'), 503, 'temporarily_unavailable', 'Service unavailable'],
  ] as const
  for (const [error, status, oauth, title] of rows) {
    const failure = failureOf(error)
    t.match(failure, { status, reason: error.reason, message: 'm' }, `${error.name}: ${status}, its reason, its message`)
    t.equal(oauthCodeOf(failure), oauth, `${error.name}: ${oauth} on an OAuth endpoint`)
    t.equal(problemTitleOf(failure), title, `${error.name}: "${title}" in a problem`)
  }
  t.same(
    failureOf(new InvalidInputError('m', [{ path: 'a', message: 'b' }])).errors,
    [{ path: 'a', message: 'b' }],
    'invalid input keeps every field',
  )
})

t.test('a defect says nothing of itself', async (t) => {
  const expected = { status: 500, reason: 'internal_error', message: 'internal server error' }
  t.same(failureOf(new Error('the secret is hunter2')), expected, 'an error we did not raise on purpose')
  t.same(
    failureOf(new StoreDataError('the grant store cannot be reached', '22P02', new Error('invalid input syntax'))),
    expected,
    'a statement the database refused',
  )
  t.same(failureOf('a thrown string'), expected, 'not even an Error')
  t.same(
    failureOf(Object.assign(new Error('upstream detail'), { statusCode: 502 })),
    { ...expected, status: 502 },
    "a 5xx of someone else's keeps its status only",
  )
  t.equal(oauthCodeOf(failureOf(new Error('x'))), 'server_error')
  t.equal(problemTitleOf(failureOf(new Error('x'))), 'Internal server error')
})

t.test("Fastify's own refusals keep their status and message and get a reason", async (t) => {
  const fastifyError = (code: string, statusCode: number, message: string) => Object.assign(new Error(message), { code, statusCode })
  const rows = [
    [fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'Request body is too large'), 'body_too_large'],
    [fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'Unsupported Media Type'), 'media_type_unsupported'],
    [
      fastifyError('FST_ERR_CTP_INVALID_JSON_BODY', 400, "Body is not valid JSON but content-type is set to 'application/json'"),
      'body_malformed',
    ],
    [
      fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'Body cannot be empty when content-type is set to application/json'),
      'body_malformed',
    ],
    [fastifyError('FST_ERR_BAD_URL', 400, "'/%' is not a valid url component"), 'request_invalid'],
    [fastifyError('FST_ERR_ROUTE_PARAM_TOO_LONG', 414, 'URI Too Long'), 'request_invalid'],
  ] as const
  for (const [error, reason] of rows) {
    t.same(failureOf(error), { status: error.statusCode, reason, message: error.message }, error.code)
  }
})
