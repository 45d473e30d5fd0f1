import t from 'tap'
import { runCategory, runContext, type RunContext } from '../../../../shared/imports/sarif/run-context.ts'

const contextOf = (run: unknown, fallbackCategory?: string): RunContext => {
  const context = runContext(run, fallbackCategory)
  if (typeof context === 'string') throw new Error(context)
  return context
}

const driver = (fields: Record<string, unknown>) => ({ tool: { driver: { name: 'Semgrep OSS', ...fields } } })

t.test('the category is automationDetails.id up to its last slash, else the whole id, else the client\'s, else none', async (t) => {
  t.equal(runCategory({ automationDetails: { id: 'codeql/js/2026-12-06' } }, 'ignored'), 'codeql/js')
  t.equal(runCategory({ automationDetails: { id: 'nightly' } }, 'ignored'), 'nightly')
  t.equal(runCategory({ automationDetails: { id: 'js/' } }, undefined), 'js', 'a trailing slash: an empty instance')
  t.equal(runCategory({ automationDetails: { id: '   ' } }, 'web'), 'web', 'a blank id is none')
  t.equal(runCategory({ automationDetails: { id: 42 } }, 'web'), 'web', 'an id that is no string is none')
  t.equal(runCategory({ automationDetails: 'js/run' }, 'web'), 'web', 'automationDetails that is no object')
  t.equal(runCategory({}, 'web'), 'web')
  t.equal(runCategory({}, undefined), '')
})

t.test('a run that is no object, or has no tool.driver.name, is no SARIF run: a message says why', async (t) => {
  t.equal(runContext(null, undefined), 'must be an object')
  t.equal(runContext([], undefined), 'must be an object')
  t.equal(runContext('run', undefined), 'must be an object')
  for (const run of [{}, { tool: 'CodeQL' }, { tool: {} }, { tool: { driver: [] } }, { tool: { driver: {} } }, { tool: { driver: { name: ' ' } } }, { tool: { driver: { name: 7 } } }]) {
    t.equal(runContext(run, undefined), 'tool.driver.name is required', JSON.stringify(run))
  }
})

t.test('the tool: its name and version (semanticVersion before version), clipped to what a record holds', async (t) => {
  t.same(contextOf(driver({ version: '1.2', semanticVersion: '1.2.3' })).tool, { name: 'Semgrep OSS', version: '1.2.3' })
  t.same(contextOf(driver({ version: '1.2' })).tool, { name: 'Semgrep OSS', version: '1.2' })
  t.same(contextOf(driver({})).tool, { name: 'Semgrep OSS' }, 'no version member when the run names none')
  const long = contextOf({ tool: { driver: { name: 'n'.repeat(150), version: 'v'.repeat(101) } } }).tool
  t.equal(long.name, `${'n'.repeat(99)}…`)
  t.equal(long.version, `${'v'.repeat(99)}…`)
  t.equal(contextOf({ tool: { driver: { name: 'x' } }, automationDetails: { id: `${'c'.repeat(300)}/1` } }).category.length, 200)
  t.equal(contextOf(driver({}), 'from-the-client').category, 'from-the-client')
})

t.test('a rule keeps its id, names, texts, help, level and security-severity; markdown before text', async (t) => {
  const [rule] = contextOf(driver({
    rules: [{
      id: 'javascript.express.sqli',
      name: 'SqlInjection',
      shortDescription: { text: 'SQL injection' },
      fullDescription: { text: 'plain', markdown: '**SQL** injection' },
      help: { text: 'Use parameters.' },
      helpUri: 'https://semgrep.dev/r/javascript.express.sqli',
      defaultConfiguration: { level: 'error' },
      properties: { 'security-severity': 8.8 }
    }]
  })).rules
  t.same(rule, {
    id: 'javascript.express.sqli',
    name: 'SqlInjection',
    shortDescription: 'SQL injection',
    fullDescription: '**SQL** injection',
    help: 'Use parameters.',
    helpUri: 'https://semgrep.dev/r/javascript.express.sqli',
    level: 'error',
    securitySeverity: '8.8'
  })
  t.equal(contextOf(driver({ rules: [{ id: 'r', properties: { 'security-severity': '9.1' } }] })).rules[0]!.securitySeverity, '9.1')
  t.notOk('securitySeverity' in contextOf(driver({ rules: [{ id: 'r', properties: { 'security-severity': { score: 9 } } }] })).rules[0]!)
})

t.test('a rule that is no object is an empty rule; long texts are clipped', async (t) => {
  const rules = contextOf(driver({ rules: ['r1', null, { id: 'i'.repeat(250), help: { text: 'h'.repeat(5000) }, helpUri: `https://example.com/${'u'.repeat(3000)}` }] })).rules
  t.same(rules.slice(0, 2), [{}, {}], 'positions kept: results name rules by index')
  t.equal(rules[2]!.id!.length, 200)
  t.equal(rules[2]!.help!.length, 4000)
  t.ok(rules[2]!.help!.endsWith('…'))
  t.equal(rules[2]!.helpUri!.length, 2048)
})

t.test('CWEs from the CWE taxonomy\'s relationships and from tags (GitHub\'s and Semgrep\'s), deduplicated', async (t) => {
  const [rule] = contextOf(driver({
    rules: [{
      id: 'r',
      relationships: [
        { target: { id: '89', toolComponent: { name: 'CWE' } } },
        { target: { id: 'CWE-079', toolComponent: { name: 'cwe' } } },
        { target: { id: '20', toolComponent: { name: 'OWASP' } } }, // another taxonomy
        { target: { id: 'not-a-cwe', toolComponent: { name: 'CWE' } } },
        { target: { id: '0', toolComponent: { name: 'CWE' } } },
        'CWE-1'
      ],
      properties: { tags: ['security', 'external/cwe/cwe-089', 'CWE-22: Improper Limitation of a Pathname', 'cwe-x', 7] }
    }]
  })).rules
  t.same(rule!.cweIds, ['CWE-89', 'CWE-79', 'CWE-22'])
  t.same(rule!.tags, ['security', 'external/cwe/cwe-089', 'CWE-22: Improper Limitation of a Pathname', 'cwe-x'], 'tags that are no string are dropped')
  t.notOk('cweIds' in contextOf(driver({ rules: [{ id: 'r', properties: { tags: ['security'] } }] })).rules[0]!, 'no CWE member without one')
})

t.test('at most 50 tags a rule', async (t) => {
  const tags = Array.from({ length: 60 }, (_, i) => `tag-${i}`)
  t.same(contextOf(driver({ rules: [{ id: 'r', properties: { tags } }] })).rules[0]!.tags, tags.slice(0, 50))
})

t.test('extension rules by extension (CodeQL packs), and the artifacts results point into', async (t) => {
  const context = contextOf({
    tool: { driver: { name: 'CodeQL' }, extensions: [{ name: 'codeql/js-queries', rules: [{ id: 'js/xss' }] }, 'not an extension', { name: 'empty' }] },
    artifacts: [
      { location: { uri: 'src/app.js', uriBaseId: '%SRCROOT%' } },
      { location: { uri: '' } },
      'not an artifact',
      { location: { uri: `${'p'.repeat(1100)}.js` } }
    ]
  })
  t.same(context.rules, [])
  t.same(context.extensionRules, [[{ id: 'js/xss' }], [], []])
  t.same(context.artifacts.slice(0, 3), [{ uri: 'src/app.js', uriBaseId: '%SRCROOT%' }, {}, {}], 'positions kept: results name artifacts by index')
  t.equal(context.artifacts[3]!.uri!.length, 1000)
  t.same(contextOf(driver({})).artifacts, [])
  t.same(contextOf({ tool: { driver: { name: 'x' }, extensions: 'none' } }).extensionRules, [])
})
