import t from 'tap'
import { buildRecordsApi } from '../../support/records-api.ts'
import { aReport, importReport, postReport, records, SHOP, waitForImportOrSweep } from '../../support/imports-api.ts'

/**
 * An attacker with a write token of the tenant (a leaked CI token) tries to close real production
 * findings through imports, without ever sending the scanner's real report: every trick leaves
 * them open and unchanged.
 */

const findings = [{ rule: 'sql-injection', line: 10 }, { rule: 'xss', line: 20 }, { rule: 'ssrf', line: 30 }]

t.test('no import trick closes a real finding', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport(findings))
  const victim = await records(api)
  const [sample] = victim

  // Another environment (or type) of the same asset name, reporting nothing.
  for (const query of ['asset=shop&assetType=repository&environment=development', 'asset=shop&assetType=repository', 'asset=shop&assetType=service&environment=production']) {
    t.equal((await importReport(t, api, aReport([]), { query })).counts.resolved, 0, query)
  }

  // The real findings listed again, each made to be rejected (or unidentifiable), beside nothing else.
  const rejected = JSON.parse(aReport(findings))
  rejected.runs[0].tool.driver.rules[0].helpUri = 'https://example.com/{rule}'
  rejected.runs[0].results[1].level = 'toString'
  rejected.runs[0].results[2] = { message: { text: 'no rule: which record is it?' } }
  const trick = await importReport(t, api, JSON.stringify(rejected))
  t.equal(trick.counts.resolved, 0)

  // Ownership claimed through the API: the mark is no field; a prefix copied from a real fingerprint proves nothing.
  const claim = await api.app.inject({ method: 'PATCH', url: `/v1/records/${sample!.id}`, headers: { authorization: await api.bearer(), 'if-match': `"${sample!.version}"`, 'content-type': 'application/merge-patch+json' }, payload: { importScope: 'sarif:x:' } })
  t.equal(claim.statusCode, 400)
  const prefix = sample!.fingerprint!.slice(0, sample!.fingerprint!.lastIndexOf(':') + 1)
  await api.create({ title: 'decoy', category: 'other', severity: 'info', asset: { name: 'shop', type: 'repository', environment: 'production' }, fingerprint: `${prefix}decoy` })

  // Two reports of the scope sent at once, each missing what the other has.
  const [a, b] = await Promise.all([postReport(api, aReport([findings[0]!]), { query: SHOP }), postReport(api, aReport([findings[1]!, findings[2]!]), { query: SHOP })])
  const raced = [await waitForImportOrSweep(api, a.json().id), await waitForImportOrSweep(api, b.json().id)]
  const open = (await records(api)).filter((record) => record.status === 'open' && record.title !== 'decoy').map((record) => record.source!.ruleId).sort()
  const last = raced.sort((x, y) => String(x.finishedAt).localeCompare(String(y.finishedAt)))[1]!
  t.same(open, last.id === a.json().id ? ['sql-injection'] : ['ssrf', 'xss'], 'what the later applied report has stays open: the two never resolve each other')
  t.equal(last.counts.resolved, findings.length - open.length, 'the later one resolved exactly what it does not have')

  const decoy = (await records(api)).find((record) => record.title === 'decoy')
  t.match(decoy, { status: 'open', version: 1 }, 'the record with a copied prefix is no import\'s')
})
