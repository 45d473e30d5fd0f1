import t from 'tap'
import { scoreCvssVector, severityOfScore } from '../../../shared/records/cvss.ts'

t.test('scores published CVSS examples', async (t) => {
  const examples: Array<[string, string, number, string]> = [
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', '3.1', 9.8, 'critical'],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', '3.0', 9.8, 'critical'],
    // CVE-2021-44228 (Log4Shell) as NVD scored it.
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', '3.1', 10, 'critical'],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', '3.1', 5.5, 'medium'],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', '3.1', 3.1, 'low'],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', '3.1', 0, 'info'],
    // FIRST's CVSS 4.0 examples.
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', '4.0', 9.3, 'critical'],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', '4.0', 8.5, 'high']
  ]
  for (const [vector, version, baseScore, severity] of examples) {
    t.same(scoreCvssVector(vector), { vector, version, baseScore, severity }, vector)
  }
})

t.test('CVSS 4.0 base score ignores threat metrics', async (t) => {
  const scored = scoreCvssVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U')
  t.equal(typeof scored === 'object' && scored.baseScore, 9.3)
})

t.test('temporal metrics are accepted and do not change the 3.1 base score', async (t) => {
  const scored = scoreCvssVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C')
  t.equal(typeof scored === 'object' && scored.baseScore, 9.8)
})

t.test('rejects invalid vectors with a reason', async (t) => {
  const invalid = [
    'garbage',
    '',
    'AV:N/AC:L/Au:N/C:C/I:C/A:C',
    'CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C',
    'CVSS:3.1/AV:N/AC:L',
    'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L',
    'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:A',
    'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N',
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/',
    'CVSS:3.1//AV:N'
  ]
  for (const vector of invalid) t.type(scoreCvssVector(vector), 'string', JSON.stringify(vector))
})

t.test('severity bands follow the CVSS qualitative scale', async (t) => {
  t.same([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityOfScore),
    ['info', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical'])
})
