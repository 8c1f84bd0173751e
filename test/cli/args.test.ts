import t from 'tap'
import { parseCommandLine } from '../../src/cli/args.js'
import { UsageError } from '../../src/cli/errors.js'

// One key id in 64 starts with "-" (base64url of a SHA-256 thumbprint): `sts keys revoke <kid>` must take it as the kid.
const DASHED_KID = '-PNn9umCY_3RSwMGq1U0U4ZwDIkYxs-OyWGtHKsPJww'

t.test('a key id starting with "-" is an argument, as a positional and as an option value', async (t) => {
  const parsed = parseCommandLine([DASHED_KID, '--reason', 'INC-1234'], { reason: { type: 'string' } })
  t.same({ positionals: parsed.positionals, reason: parsed.string('reason') }, { positionals: [DASHED_KID], reason: 'INC-1234' })
  const asValue = parseCommandLine(['--kid', DASHED_KID], { kid: { type: 'string' } })
  t.same({ positionals: asValue.positionals, kid: asValue.string('kid') }, { positionals: [], kid: DASHED_KID })
})

t.test('other arguments starting with "-" are still options: an unknown one is refused', async (t) => {
  t.throws(() => parseCommandLine(['-PNn9um'], {}), new UsageError(['unknown option -P']))
  t.throws(() => parseCommandLine([`${DASHED_KID}x`], {}), UsageError)
})
