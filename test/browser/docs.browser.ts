/**
 * `npm run test:browser`: the API documentation in a real browser, as a visitor uses it. Starts
 * the local stack, opens /docs in Debian's headless Chromium, authorizes as local-admin with the
 * client credentials grant, then walks a record through Swagger UI: create it from the
 * documented example, read it back by the id the create returned, and triage it with the
 * documented patch and the ETag of the create as If-Match. A screenshot of every step is written to
 * a folder outside the working tree (screenshot-dir.ts; `npm run test:browser -- --update` replaces
 * the committed ones in openapi/screenshots/). Run by `.ci/run`; not part of `npm test`
 * (it needs chromium: apt-get install chromium, or CHROMIUM_PATH).
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Locator, type Page, type Response } from 'playwright-core'
import { startLocalStack } from '../../local-dev/stack.ts'
import { screenshotDir } from './screenshot-dir.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOT_DIR = screenshotDir(process.argv.slice(2), process.env)
const COMMITTED_DOCUMENT = new URL('../../openapi/openapi.json', import.meta.url)
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

if (!existsSync(CHROMIUM)) {
  console.error(`No chromium at ${CHROMIUM}: install it with apt-get install -y chromium, or set CHROMIUM_PATH`)
  process.exit(1)
}

/** Opens an operation, switches it to "Try it out" and returns its block. */
async function openOperation (page: Page, operationId: string): Promise<Locator> {
  const operation = page.locator(`#operations-records-${operationId}`)
  await operation.locator('.opblock-summary').first().click()
  const tryItOut = operation.locator('button.try-out__btn')
  if (await tryItOut.isVisible() && (await tryItOut.innerText()).includes('Try it out')) await tryItOut.click()
  return operation
}

/** Types a value into an operation's parameter field, replacing the example. */
async function fillParameter (operation: Locator, name: string, value: string) {
  const field = operation.locator(`tr[data-param-name="${name}"] input`)
  await field.fill(value)
}

/** Presses Execute and waits for the API's answer to that request. */
async function execute (page: Page, operation: Locator, method: string, url: string): Promise<Response> {
  const answered = page.waitForResponse((response) => response.url() === url && response.request().method() === method)
  await operation.locator('button.execute').click()
  const response = await answered
  // The page has rendered the answer when the live response table shows its status.
  await operation.locator('.live-responses-table tr.response .response-col_status').first().waitFor()
  return response
}

/** A screenshot of the operation with its request (curl) and answer in view. */
async function screenshot (page: Page, operation: Locator, name: string): Promise<string> {
  await operation.locator('.curl-command').evaluate((element) => element.scrollIntoView({ block: 'start' }))
  const path = join(SCREENSHOT_DIR, name)
  await page.screenshot({ path })
  return path
}

// A browser on a busy 2-core CI machine is slow (tap's default is 30 s for the whole file run with
// node): generous limits, which only ever stop a hung walk.
t.setTimeout(300_000)

t.test('a visitor authorizes on /docs and walks a record through create, read and change', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const profile = await mkdtemp(join(tmpdir(), 'security-records-chromium-'))
  t.teardown(() => rm(profile, { recursive: true, force: true }))
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 1000 }
  })
  t.teardown(() => browser.close())

  t.equal(await (await fetch(`${stack.url}/openapi.json`)).text(), await readFile(COMMITTED_DOCUMENT, 'utf8'), '/openapi.json serves the committed document')

  const page = browser.pages()[0] ?? await browser.newPage()
  page.setDefaultTimeout(60_000)
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))

  await page.goto(`${stack.url}/docs`)
  await page.locator('#operations-records-createRecord').waitFor()
  t.match(await page.locator('.information-container .title').innerText(), /security-records/, 'the document is rendered')

  // 1. Authorize: the client credentials flow against the mock authorization server on this origin.
  await page.locator('.auth-wrapper button.authorize').click()
  await page.locator('#client_id_clientCredentials').fill('local-admin')
  await page.locator('#client_secret_clientCredentials').fill('local-admin-secret')
  const tokenResponse = page.waitForResponse((response) => response.url() === `${stack.url}/oauth2/token`)
  const dialog = page.locator('.dialog-ux .modal-ux')
  await dialog.locator('button.modal-btn.authorize').click()
  t.equal((await tokenResponse).status(), 200, 'step 1, authorize: the token endpoint issued a token')
  await dialog.locator('button.modal-btn', { hasText: 'Logout' }).waitFor()
  await page.screenshot({ path: join(SCREENSHOT_DIR, '1-authorized.png') })
  await dialog.locator('button.modal-btn.btn-done').click()

  // 2. Create: createRecord with the documented example body, as it is.
  const create = await openOperation(page, 'createRecord')
  const created = await execute(page, create, 'POST', `${stack.url}/v1/records`)
  t.equal(created.status(), 201, 'step 2, create: 201 Created')
  t.match(created.request().headers().authorization, /^Bearer \S+$/, 'with the token from Authorize')
  const record = await created.json() as { id: string, severity: string, version: number }
  const etag = (await created.allHeaders()).etag
  t.match(record, { title: 'xz backdoor in liblzma', severity: 'critical', version: 1 }, 'the severity was derived from the CVSS vector')
  t.equal(etag, '"1"', 'the ETag of version 1')
  t.match(await create.locator('.live-responses-table tr.response .response-col_status').first().innerText(), /201/, 'the page shows 201')
  t.pass(`screenshot: ${await screenshot(page, create, '2-created.png')}`)

  // 3. Read: getRecord with the id the create returned.
  const read = await openOperation(page, 'getRecord')
  await fillParameter(read, 'id', record.id)
  const got = await execute(page, read, 'GET', `${stack.url}/v1/records/${record.id}`)
  t.equal(got.status(), 200, 'step 3, read: 200')
  t.match(await got.json(), { id: record.id, version: 1 })
  t.equal((await got.allHeaders()).etag, etag, 'the same ETag')
  t.pass(`screenshot: ${await screenshot(page, read, '3-read.png')}`)

  // 4. Change: updateRecord with the documented triage patch, If-Match from the create.
  const change = await openOperation(page, 'updateRecord')
  await fillParameter(change, 'id', record.id)
  await fillParameter(change, 'If-Match', etag!)
  const patched = await execute(page, change, 'PATCH', `${stack.url}/v1/records/${record.id}`)
  t.equal(patched.status(), 200, 'step 4, change: 200')
  t.equal(patched.request().headers()['if-match'], etag, 'sent with If-Match from the create')
  t.match(patched.request().headers()['content-type'], /^application\/merge-patch\+json/, 'as a JSON merge patch')
  t.match(await patched.json(), { id: record.id, version: 2, status: 'triaged', assignee: 'team-payments' }, 'the record is triaged, version 2')
  t.equal((await patched.allHeaders()).etag, '"2"', 'with the ETag of version 2')
  t.pass(`screenshot: ${await screenshot(page, change, '4-changed.png')}`)

  // The example can be executed again as it is: a second create is another record, not a 409.
  const again = await execute(page, create, 'POST', `${stack.url}/v1/records`)
  t.equal(again.status(), 201, 'createRecord executed a second time: 201 again')
  t.not((await again.json() as { id: string }).id, record.id, 'another record')

  t.same(pageErrors, [], 'no script errors on the page')
})
