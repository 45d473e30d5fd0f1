/**
 * `npm run test:browser`: the API documentation in a real browser. Starts the local stack,
 * opens /docs in Debian's headless Chromium, authorizes as local-admin with the client
 * credentials grant, executes "createRecord" with the documented example and expects 201 — then
 * checks the record really exists. The screenshot is kept beside the document:
 * openapi/docs-screenshot.png. Not part of `npm test` (it needs chromium: apt-get install chromium).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium } from 'playwright-core'
import { startLocalStack } from '../../local-dev/stack.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOT = fileURLToPath(new URL('../../openapi/docs-screenshot.png', import.meta.url))
const COMMITTED_DOCUMENT = new URL('../../openapi/openapi.json', import.meta.url)
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

if (!existsSync(CHROMIUM)) {
  console.error(`No chromium at ${CHROMIUM}: install it with apt-get install -y chromium, or set CHROMIUM_PATH`)
  process.exit(1)
}

t.test('a visitor authorizes on /docs with client credentials and creates a record from the example', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const profile = await mkdtemp(join(tmpdir(), 'security-records-chromium-'))
  t.teardown(() => rm(profile, { recursive: true, force: true }))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 1000 }
  })
  t.teardown(() => browser.close())

  t.equal(await (await fetch(`${stack.url}/openapi.json`)).text(), await readFile(COMMITTED_DOCUMENT, 'utf8'), '/openapi.json serves the committed document')

  const page = browser.pages()[0] ?? await browser.newPage()
  page.setDefaultTimeout(20_000)
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))

  await page.goto(`${stack.url}/docs`)
  await page.locator('#operations-records-createRecord').waitFor()
  t.match(await page.locator('.information-container .title').innerText(), /security-records/, 'the document is rendered')

  // Authorize: the client credentials flow against the mock authorization server on this origin.
  await page.locator('.auth-wrapper button.authorize').click()
  await page.locator('#client_id_clientCredentials').fill('local-admin')
  await page.locator('#client_secret_clientCredentials').fill('local-admin-secret')
  const tokenResponse = page.waitForResponse((response) => response.url() === `${stack.url}/oauth2/token`)
  const dialog = page.locator('.dialog-ux .modal-ux')
  await dialog.locator('button.modal-btn.authorize').click()
  t.equal((await tokenResponse).status(), 200, 'the token endpoint issued a token')
  await dialog.locator('button.modal-btn', { hasText: 'Logout' }).waitFor()
  await dialog.locator('button.modal-btn.btn-done').click()

  // Execute createRecord with the documented example body.
  const operation = page.locator('#operations-records-createRecord')
  await operation.locator('.opblock-summary').first().click()
  const tryItOut = operation.locator('button.try-out__btn')
  if (await tryItOut.isVisible() && (await tryItOut.innerText()).includes('Try it out')) await tryItOut.click()
  const created = page.waitForResponse((response) => response.url() === `${stack.url}/v1/records` && response.request().method() === 'POST')
  await operation.locator('button.execute').click()
  const response = await created
  t.equal(response.status(), 201, 'the API answered 201 Created')
  t.match(response.request().headers().authorization, /^Bearer \S+$/, 'with the token from Authorize')
  const record = await response.json() as { id: string, severity: string, version: number }
  t.match(record, { title: 'xz backdoor in liblzma', severity: 'critical', version: 1 }, 'the severity was derived from the CVSS vector')

  const status = operation.locator('.live-responses-table tr.response .response-col_status').first()
  await status.waitFor()
  t.match(await status.innerText(), /201/, 'the page shows 201')
  // The request as sent (curl, with the bearer token) and the 201 beside it.
  await operation.locator('.curl-command').evaluate((element) => element.scrollIntoView({ block: 'start' }))
  await page.screenshot({ path: SCREENSHOT })
  t.pass(`screenshot: ${SCREENSHOT}`)

  // The record is really there: read it back with a token of its own.
  const token = await (await fetch(`${stack.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })).json() as { access_token: string }
  const stored = await fetch(`${stack.url}/v1/records/${record.id}`, { headers: { authorization: `Bearer ${token.access_token}` } })
  t.equal(stored.status, 200, 'the created record can be read back')
  t.same(pageErrors, [], 'no script errors on the page')
})
