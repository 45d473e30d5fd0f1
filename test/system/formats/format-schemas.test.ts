import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { cyclonedxErrors, openvexErrors, sarifErrors } from '../../support/format-schemas.ts'

const fixtures = (folder: string) => new URL(`../../fixtures/${folder}/`, import.meta.url)

t.test('every CycloneDX fixture is valid against the CycloneDX schema of its specVersion', async (t) => {
  for (const name of await readdir(fixtures('cyclonedx'))) {
    if (!name.endsWith('.json')) continue
    t.same(await cyclonedxErrors(await readFile(new URL(name, fixtures('cyclonedx')), 'utf8')), null, name)
  }
})

t.test('every OpenVEX fixture is valid against the OpenVEX 0.2.0 schema', async (t) => {
  for (const name of await readdir(fixtures('openvex'))) {
    if (!name.endsWith('.json')) continue
    t.same(openvexErrors(JSON.parse(await readFile(new URL(name, fixtures('openvex')), 'utf8'))), null, name)
  }
})

t.test('every SARIF fixture meant to be valid is valid against the SARIF 2.1.0 schema; the schemas can fail', async (t) => {
  for (const name of ['bandit-1.9.4.sarif', 'eslint-10.15.0.sarif', 'github-conventions.sarif', 'semgrep-1.185.0.sarif', 'flawfinder-2.0.19.sarif']) {
    t.same(sarifErrors(JSON.parse(await readFile(new URL(name, fixtures('sarif')), 'utf8'))), null, name)
  }
  t.not(sarifErrors({ version: '2.1.0', runs: [{ results: [] }] }), null, 'a run without its tool is refused')
  t.not(openvexErrors({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] }), null, 'an OpenVEX document without @id and author is refused')
  t.not(await cyclonedxErrors(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', vulnerabilities: [{ analysis: { state: 'maybe' } }] })), null, 'an unknown analysis state is refused')
})
