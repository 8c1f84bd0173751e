import t from 'tap'
import { GrantInput } from '../../../src/grants/grant.js'
import { globMatches, isGlob } from '../../../src/lib/glob.js'
import { RevocationInput } from '../../../src/revocation/revocation.js'
import { fillerGrant, standingRevocation } from '../../../scripts/bench/growth-rows.js'
import { BENCH_GRANT, BENCH_TRUST_DOMAIN, TARGET_AUDIENCE } from '../../../scripts/bench/requests.js'
import { BENCH_CLUSTER_NAME, workloadNamed } from '../../../scripts/bench/workloads.js'

/**
 * The growth part's rows must leave what is measured unchanged (each exchange still decided by the
 * bench's own grant, never refused by a standing revocation) while giving the service real work: rows
 * the admin API would accept, all different, some sharing the bench workloads' index buckets.
 */

const SERVICE_ACCOUNTS = 100
const workloads = Array.from({ length: SERVICE_ACCOUNTS }, (_, i) => {
  const { namespace, serviceAccount } = workloadNamed(i)
  return {
    subject: `spiffe://${BENCH_TRUST_DOMAIN}/k8s/${BENCH_CLUSTER_NAME}/ns/${namespace}/sa/${serviceAccount}`,
    sources: [
      `k8s:${BENCH_CLUSTER_NAME}`,
      ...Array.from({ length: 20 }, (_, n) => `k8s:${BENCH_CLUSTER_NAME}:node:node-${String(n).padStart(2, '0')}`),
    ],
  }
})

t.test('filler grants are distinct grants the admin API would accept', async (t) => {
  const grants = Array.from({ length: 20_000 }, (_, i) => fillerGrant(i, SERVICE_ACCOUNTS))
  const keys = new Set(grants.map((g) => JSON.stringify([g.subject, g.conditions, g.audiences])))
  t.equal(keys.size, grants.length, 'no two grants give the same subject the same audiences under the same conditions')
  const refused = grants.filter((g) => !GrantInput.safeParse(g).success)
  t.same(refused, [], 'every one passes POST /v1/grants validation')
  t.same(fillerGrant(12_345, SERVICE_ACCOUNTS), fillerGrant(12_345, SERVICE_ACCOUNTS), 'the same row every run')
  const globs = grants.filter((g) => isGlob(g.subject)).length
  const conditioned = grants.filter((g) => Object.keys(g.conditions).length > 0).length
  t.ok(globs > 2000 && globs < 10_000, `a minority are globs (${globs})`)
  t.ok(conditioned > 500 && conditioned < 5000, `some have conditions (${conditioned})`)
})

t.test('no filler grant gives a bench workload what it asks for, but some are its candidates', async (t) => {
  const grants = Array.from({ length: 20_000 }, (_, i) => fillerGrant(i, SERVICE_ACCOUNTS))
  let candidates = 0
  const deciding: string[] = []
  for (const workload of workloads) {
    for (const grant of grants) {
      // A glob matches only values starting with its literal part: a cheap sound filter before the matcher.
      if (!workload.subject.startsWith(literalPartOf(grant.subject)) || !globMatches(grant.subject, workload.subject)) continue
      candidates++
      if (grant.audiences.includes(TARGET_AUDIENCE)) deciding.push(`${grant.subject} -> ${workload.subject}`)
    }
  }
  t.same(deciding, [], 'the bench grant alone decides every exchange, at every size')
  t.ok(candidates >= 10 * SERVICE_ACCOUNTS, `each workload's subject matches grants it must look at and reject (${candidates})`)
  t.ok(
    workloads.every((w) => globMatches(BENCH_GRANT.subject, w.subject)),
    'and the bench grant still matches every workload',
  )
})

t.test('standing revocations are distinct, valid, and revoke no bench workload', async (t) => {
  const revocations = Array.from({ length: 10_000 }, (_, i) => standingRevocation(i))
  t.equal(new Set(revocations.map((r) => `${r.kind} ${r.value}`)).size, revocations.length, 'one standing revocation per target')
  t.same(
    revocations.filter((r) => !RevocationInput.safeParse(r).success),
    [],
    'every one passes POST /v1/revocations validation',
  )
  t.equal(revocations.filter((r) => r.kind === 'subject').length, 5000, 'half subjects')
  t.ok(
    revocations.filter((r) => r.kind === 'subject' && isGlob(r.value)).length > 2500,
    'most of them globs, the kind an exchange cannot look up by key',
  )
  const hits: string[] = []
  for (const r of revocations) {
    for (const workload of workloads) {
      const hit =
        r.kind === 'subject'
          ? workload.subject.startsWith(literalPartOf(r.value)) && globMatches(r.value, workload.subject)
          : workload.sources.includes(r.value)
      if (hit) hits.push(`${r.value} revokes ${workload.subject}`)
    }
    // The bench's pods have random (version 4) uids: a revoked pod uid must never be one.
    if (r.kind === 'source' && /:pod:[0-9a-f]{8}-[0-9a-f]{4}-4/.test(r.value)) hits.push(`${r.value} could be a bench pod`)
  }
  t.same(hits, [])
  t.ok(
    revocations.some((r) => r.value.startsWith(`spiffe://${BENCH_TRUST_DOMAIN}/k8s/${BENCH_CLUSTER_NAME}/ns/team-`)),
    "some sit in the bench workloads' own namespaces",
  )
})

function literalPartOf(glob: string): string {
  const wildcard = glob.search(/[*?]/)
  return wildcard === -1 ? glob : glob.slice(0, wildcard)
}
