/**
 * The README: every example of /docs can be executed as it is. `npm start` seeds the record and
 * the import the examples name (local-dev/examples.ts); here each operation is sent exactly as
 * Swagger UI's "Try it out" fills it in from the committed document — path and header examples,
 * the first request body example — against a started stack.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startLocalStack, type LocalStack } from '../../local-dev/stack.ts'
import { documentationFiles } from '../../scripts/openapi/files.ts'

type Parameter = { in: string, name: string, required?: boolean, example?: unknown, schema?: { default?: unknown } }
type Operation = { operationId: string, parameters?: Parameter[], requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> } }
const document = JSON.parse(await readFile(documentationFiles.openapiJson, 'utf8')) as { paths: Record<string, Record<string, Operation>> }
const operations = new Map(Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => [operation.operationId, { path, method: method.toUpperCase(), operation }] as const)))

const dataDir = await mkdtemp(join(tmpdir(), 'security-records-examples-'))
t.teardown(() => rm(dataDir, { recursive: true, force: true }))
const start = () => startLocalStack({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', sweepIntervalMs: 0, seedExamples: true, env: { ...process.env, RATE_LIMIT: 'off' } })

async function tokenOf (stack: LocalStack): Promise<string> {
  const response = await fetch(`${stack.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  return (await response.json() as { access_token: string }).access_token
}

/** The operation as "Try it out" sends it: every parameter with an example filled in, the first body example. */
async function tryItOut (stack: LocalStack, token: string, operationId: string): Promise<{ status: number, body: any }> {
  const { path, method, operation } = operations.get(operationId)!
  const parameters = operation.parameters ?? []
  const withExample = parameters.filter((parameter) => parameter.example !== undefined)
  for (const parameter of parameters.filter((candidate) => candidate.required)) {
    if (parameter.example === undefined) throw new Error(`${operationId}: the required ${parameter.in} parameter ${parameter.name} has no example`)
  }
  let url = path
  for (const parameter of withExample.filter((candidate) => candidate.in === 'path')) url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.example)))
  const query = new URLSearchParams(withExample.filter((parameter) => parameter.in === 'query').map((parameter) => [parameter.name, String(parameter.example)]))
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  for (const parameter of withExample.filter((candidate) => candidate.in === 'header')) headers[parameter.name] = String(parameter.example)
  let body: string | undefined
  if (operation.requestBody) {
    const [type, media] = Object.entries(operation.requestBody.content)[0]!
    headers['content-type'] = type
    body = JSON.stringify(Object.values(media.examples ?? {})[0]?.value)
  }
  const response = await fetch(`${stack.url}${url}${query.size > 0 ? `?${query}` : ''}`, { method, headers, body })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

t.test('every example of /docs runs as it is against npm start, the reads again and again', async (t) => {
  let stack = await start()
  let token = await tokenOf(stack)
  t.teardown(() => stack.close())

  for (let round = 1; round <= 2; round++) {
    for (const operationId of ['getRecord', 'getRecordHistory', 'getImport', 'listRecords', 'createRecord']) {
      t.equal((await tryItOut(stack, token, operationId)).status, operationId === 'createRecord' ? 201 : 200, `${operationId}, run ${round}`)
    }
    t.match((await tryItOut(stack, token, 'importReport')).status, /^20[12]$/, `importReport, run ${round}`)
  }
  const record = await tryItOut(stack, token, 'getRecord')
  t.match(record.body, { version: 1, title: 'xz backdoor in liblzma', severity: 'critical' }, 'the seeded record: version 1 of the first create example')
  t.match((await tryItOut(stack, token, 'getImport')).body, { status: 'succeeded' }, 'the seeded import has finished')

  const patched = await tryItOut(stack, token, 'updateRecord')
  t.equal(patched.status, 200, 'updateRecord: the triage patch with If-Match "1"')
  t.match(patched.body, { version: 2, status: 'triaged' })
  t.equal((await tryItOut(stack, token, 'updateRecord')).status, 412, 'a second time: 412, the record is at version 2 now (as the README says)')
  t.equal((await tryItOut(stack, token, 'deleteRecord')).status, 204, 'deleteRecord')
  t.equal((await tryItOut(stack, token, 'getRecord')).status, 404, 'the example record is gone')

  await stack.close()
  stack = await start()
  token = await tokenOf(stack)
  t.match((await tryItOut(stack, token, 'getRecord')).body, { version: 1 }, 'the next start seeds it again')
  t.equal((await tryItOut(stack, token, 'updateRecord')).status, 200, 'and the patch example runs again')
  t.equal((await tryItOut(stack, token, 'getImport')).status, 200, 'the import is still there')
})

t.test('a stack started without seedExamples (the tests\' own) holds no example data', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  t.equal((await tryItOut(stack, await tokenOf(stack), 'getRecord')).status, 404)
})
