/**
 * What can go wrong in a CLI run, each with the exit code scripts can rely on (documented in `sts --help`).
 */
export const ExitCode = {
  ok: 0,
  /** The API refused the request or failed: a 4xx or 5xx answer, or an answer we cannot read. */
  failed: 1,
  /** Bad command line or configuration (unknown command, bad flag, STS_ADMIN_TOKEN missing). */
  usage: 2,
  /** The service could not be reached: connection refused, DNS, timeout. */
  unreachable: 3,
  /** `sts ledger verify` found the ledger changed outside the service. */
  tampered: 4,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** The command line is wrong. Carries every problem found, so one run tells the user everything. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage
  constructor(
    readonly problems: string[],
    /** The usage line of the command concerned, printed after the problems. */
    readonly usage?: string,
  ) {
    super(problems.join('; '))
    this.name = 'UsageError'
  }
}

/** RFC 9457 problem details, as the admin API answers every error. */
export interface Problem {
  type?: string
  title?: string
  status: number
  detail: string
  instance?: string
  errors?: { path: string; message: string }[]
}

/** The service answered, and the answer is a refusal or a failure. */
export class ApiError extends Error {
  readonly exitCode = ExitCode.failed
  constructor(
    readonly problem: Problem,
    /** The X-Request-Id of the answer, to quote when reporting a server failure. */
    readonly requestId?: string,
  ) {
    super(problem.detail)
    this.name = 'ApiError'
  }
}

/** No answer at all: the request never reached the service, or the answer did not arrive in time. */
export class UnreachableError extends Error {
  readonly exitCode = ExitCode.unreachable
  constructor(message: string) {
    super(message)
    this.name = 'UnreachableError'
  }
}
