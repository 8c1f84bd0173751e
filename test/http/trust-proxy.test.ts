import t from 'tap'
import { ConfigError, parseConfig } from '../../src/config.js'
import { startTestService } from '../support/service.js'

const AWS = { kind: 'aws', name: 'vpc-aws', accounts: ['975050371289'], bindToPrivateIp: true }
const warnings = (lines: string[]) => lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40)

t.test('trustProxy: true with an attestor bound to the private IP is warned about at start', async (t) => {
  const lines: string[] = []
  await startTestService(t, { backend: 'embedded', logLines: lines, config: { trustProxy: true, attestors: [AWS] } })
  const proxyWarnings = warnings(lines).filter((entry) => /trustProxy is true/.test(entry.msg))
  t.equal(proxyWarnings.length, 2, 'one for the address every request is seen from, one for the binding')
  t.match(proxyWarnings[1], {
    trustProxy: true,
    msg: /^trustProxy is true and attestor\(s\) vpc-aws bind to the instance's private IP \(bindToPrivateIp\): .* set trustProxy to the addresses or CIDRs of your proxies/,
  })
})

t.test('a list of proxies: no warning, and X-Forwarded-For is believed from those proxies only', async (t) => {
  const lines: string[] = []
  const sts = await startTestService(t, {
    backend: 'embedded',
    logLines: lines,
    config: { trustProxy: ['10.0.0.0/8', '192.0.2.7'], attestors: [AWS] },
  })
  t.same(
    warnings(lines).filter((entry) => /trustProxy/.test(entry.msg)),
    [],
  )
  const seenAs = async (remoteAddress: string) => {
    lines.length = 0
    await sts.app.inject({ method: 'GET', url: '/healthz', remoteAddress, headers: { 'x-forwarded-for': '172.31.5.9' } })
    return lines.map((line) => JSON.parse(line)).find((entry) => entry.req?.path === '/healthz')?.req.remoteAddress
  }
  t.equal(await seenAs('10.1.2.3'), '172.31.5.9', 'a listed proxy forwards the client address')
  t.equal(await seenAs('203.0.113.5'), '203.0.113.5', 'anyone else is seen as they are')
})

t.test('trustProxy accepts addresses, CIDRs and named ranges, and names what it refuses', async (t) => {
  const base = { issuer: 'https://sts.example', trustDomain: 'example.org', audience: 'sts' }
  t.equal(parseConfig({ ...base, trustProxy: '10.0.0.0/8, loopback' }).trustProxy, '10.0.0.0/8, loopback')
  t.same(parseConfig({ ...base, trustProxy: ['fd00::/8', '192.0.2.7'] }).trustProxy, ['fd00::/8', '192.0.2.7'])
  t.throws(() => parseConfig({ ...base, trustProxy: '10.0.0.0/33' }), ConfigError)
  t.throws(() => parseConfig({ ...base, trustProxy: ['proxy.internal'] }), { message: /trustProxy\.0: must be an IP address, a CIDR/ })
})
