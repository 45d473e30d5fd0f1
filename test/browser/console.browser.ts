/**
 * `npm run test:console`: the console in a real browser, as its people use it. Starts the local
 * stack, seeds records with the local clients, then in Debian's headless Chromium: the triager
 * signs in, filters the queue, opens a record, triages it, meets a change made meanwhile and
 * re-applies, bulk-changes three records, uploads a real SARIF report and watches it finish,
 * and signs out; the read-only person sees no edit controls and gets a 403 when forcing a write;
 * the other tenant's person sees none of `local`'s records. axe-core checks every page (no
 * serious or critical violation), the CSP must never fire, and Lighthouse scores the queue.
 * A screenshot per step goes to a folder outside the working tree (`-- --update`: docs/console/).
 * Not part of `npm test` (it needs chromium: apt-get install chromium, or CHROMIUM_PATH).
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import axe from 'axe-core'
import t, { type Test } from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { startLocalStack, type LocalStack } from '../../local-dev/stack.ts'
import { screenshotDir } from './screenshot-dir.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const COMMITTED = fileURLToPath(new URL('../../docs/console/', import.meta.url))
const SCREENSHOT_DIR = screenshotDir(process.argv.slice(2), process.env, COMMITTED, 'security-records-console-screenshots')
const LIGHTHOUSE_REPORT = process.env.LIGHTHOUSE_REPORT ?? join(tmpdir(), 'security-records-console-lighthouse.json')
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SARIF = fileURLToPath(new URL('../fixtures/sarif/semgrep-1.185.0.sarif', import.meta.url))
const axeSource = axe.source

if (!existsSync(CHROMIUM)) {
  console.error(`No chromium at ${CHROMIUM}: install it with apt-get install -y chromium, or set CHROMIUM_PATH`)
  process.exit(1)
}

t.setTimeout(600_000)

async function clientToken (stack: LocalStack, client: string): Promise<string> {
  const response = await fetch(`${stack.url}/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  return ((await response.json()) as { access_token: string }).access_token
}

async function createRecord (stack: LocalStack, token: string, body: Record<string, unknown>) {
  const response = await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (response.status !== 201) throw new Error(`seed failed: ${response.status} ${await response.text()}`)
  return await response.json() as { id: string, title: string }
}

const record = (title: string, severity: string, asset = 'payments-api') => ({ title, category: 'vulnerability', severity, asset: { name: asset, type: 'service', environment: 'production' }, tags: ['console-walk'] })

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility (t: Test, page: Page, name: string) {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] })) as { violations: Array<{ id: string, impact: string, help: string, nodes: unknown[] }> }
  const serious = result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
  t.same(serious.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.length})`), [], `${name}: no serious or critical accessibility violation`)
}

async function shot (page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

async function signIn (page: Page, stack: LocalStack, username: string) {
  await page.goto(`${stack.url}/console`)
  await page.getByRole('link', { name: 'Sign in' }).click()
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(`${username}-password`)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Overview' }).waitFor()
}

async function signOut (page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You are signed out.').waitFor()
}

async function newContext (profileRoot: string, name: string, extraArgs: string[] = []): Promise<BrowserContext> {
  const profile = join(profileRoot, name)
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs], viewport: { width: 1280, height: 900 } })
}

/** Collects what the CSP blocked; checked at the end of each walk. */
function watchCsp (page: Page): string[] {
  const violations: string[] = []
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) violations.push(message.text()) })
  return violations
}

t.test('the console, walked as a triager, a viewer and a person of another tenant', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0, env: { ...process.env, RATE_LIMIT: 'off' } })
  t.teardown(() => stack.close())
  const profiles = await mkdtemp(join(tmpdir(), 'security-records-console-'))
  t.teardown(() => rm(profiles, { recursive: true, force: true }))
  await mkdir(SCREENSHOT_DIR, { recursive: true })

  const admin = await clientToken(stack, 'local-admin')
  const seeded: Array<{ id: string, title: string }> = []
  for (const [title, severity] of [['OpenSSL heap overflow in TLS handshake', 'critical'], ['Log4Shell in reporting service', 'critical'], ['Outdated jQuery in admin UI', 'medium'], ['S3 bucket allows public listing', 'high'], ['Hard-coded AWS key in config repo', 'high'], ['Verbose error pages leak stack traces', 'low'], ['Missing HSTS header on marketing site', 'info']] as const) {
    seeded.push(await createRecord(stack, admin, record(title, severity)))
  }
  const other = await clientToken(stack, 'local-other')
  await createRecord(stack, other, record('Other tenant: exposed Redis', 'high', 'other-cache'))
  // The overview's figures come from counters the record events fill: wait until the seeded ones are counted.
  for (let attempt = 0; attempt < 200; attempt++) {
    const metrics = await (await fetch(`${stack.url}/v1/metrics`, { headers: { authorization: `Bearer ${admin}` } })).json() as { open?: { bySeverity?: { critical?: number } } }
    if (metrics.open?.bySeverity?.critical === 2) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  await t.test('the triager works the queue', async (t) => {
    const lighthousePort = 9300 + Math.floor(Math.random() * 500)
    const context = await newContext(profiles, 'triager', [`--remote-debugging-port=${lighthousePort}`])
    t.teardown(() => context.close())
    const page = context.pages()[0] ?? await context.newPage()
    const blocked = watchCsp(page)

    await page.goto(`${stack.url}/console`)
    await shot(page, '01-signed-out')
    await checkAccessibility(t, page, 'signed-out page')
    await page.getByRole('link', { name: 'Sign in' }).click()
    await page.getByLabel('Username').fill('local-triager')
    await shot(page, '02-sign-in')
    await page.getByLabel('Password').fill('local-triager-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    t.match(await page.locator('.tiles').innerText(), /critical\s*2/i, 'the overview counts the open critical findings')
    t.ok(await page.getByRole('link', { name: 'Log4Shell in reporting service' }).isVisible(), 'and lists the newest critical')
    t.match(await page.getByRole('region', { name: 'Assets with the most open findings' }).innerText(), /payments-api — 7 open/, 'and the assets with the most open findings, from the metrics API')
    t.ok(await page.getByRole('table').filter({ hasText: 'Compliance' }).isVisible(), 'and the remediation figures per severity')
    t.notOk((await context.cookies()).some((cookie) => !cookie.httpOnly), 'every cookie is HttpOnly: no token reaches page script')
    t.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'page script sees no cookie')
    await shot(page, '03-overview')
    await checkAccessibility(t, page, 'overview')

    await page.getByRole('link', { name: 'Queue' }).click()
    await page.getByRole('heading', { name: 'Queue' }).waitFor()
    await page.locator('fieldset', { hasText: 'Severity' }).getByLabel('high').check()
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL(/severity=high/)
    const titles = await page.locator('table.queue tbody td:nth-child(2)').allInnerTexts()
    t.same(titles.sort(), ['Hard-coded AWS key in config repo', 'S3 bucket allows public listing'], 'the filter shows the high ones only')
    await shot(page, '04-queue-filtered')
    await checkAccessibility(t, page, 'queue')
    await page.goBack()
    await page.waitForURL((url) => !url.search.includes('severity'))
    await page.goForward()
    await page.waitForURL(/severity=high/)
    t.pass('the URL holds the filters: back and forward walk through them')

    await page.keyboard.press('j')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Triage' }).waitFor()
    t.match(page.url(), /\/console\/records\//, 'j then Enter opens the first record')
    await shot(page, '05-record')
    await checkAccessibility(t, page, 'record')
    const recordUrl = page.url()
    await page.getByLabel('Status').selectOption('triaged')
    await page.getByLabel('Assignee').fill('tess')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('.meta', { hasText: 'triaged · version 2' }).waitFor()
    t.match(await page.locator('.timeline').innerText(), /updated \(version 2\) by Tess Triager \(via local-console\)/, 'the history names the person')
    await shot(page, '06-record-triaged')

    // Someone else changes the record while the form is open: the save is a 412 shown as such.
    const id = recordUrl.split('/').pop()!
    await page.getByLabel('Assignee').fill('tess-again')
    await fetch(`${stack.url}/v1/records/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/merge-patch+json', 'if-match': '"2"' }, body: JSON.stringify({ severity: 'critical' }) })
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByText('Changed by client local-admin since you opened it').waitFor()
    await shot(page, '07-record-conflict')
    await checkAccessibility(t, page, 'record conflict')
    await page.getByRole('button', { name: 'Re-apply my change' }).click()
    await page.locator('.meta', { hasText: 'version 4' }).waitFor()
    t.match(await page.locator('.fields-list').innerText(), /Assignee\s+tess-again/, 're-applied on the current version')
    t.match(await page.locator('.fields-list').innerText(), /Severity\s+critical/, 'without undoing the other change')

    await page.goto(`${stack.url}/console/records?status=open`)
    const boxes = page.locator('table.queue tbody input[type=checkbox]')
    for (let index = 0; index < 3; index++) await boxes.nth(index).check()
    await page.locator('.bulk').getByLabel('New status').selectOption('in_progress')
    await page.locator('.bulk').getByLabel('Assignee').fill('bulk-team')
    await shot(page, '08-bulk-selected')
    await page.getByRole('button', { name: 'Apply to selected' }).click()
    await page.getByRole('heading', { name: 'Bulk triage' }).waitFor()
    t.match(await page.getByRole('status').first().innerText(), /3 of 3 records changed/)
    await shot(page, '09-bulk-done')
    await checkAccessibility(t, page, 'bulk result')

    await page.getByRole('link', { name: 'Import' }).click()
    await page.getByRole('heading', { name: 'Import a SARIF 2.1.0 log or CycloneDX 1.4/1.5/1.6 BOM' }).waitFor()
    await checkAccessibility(t, page, 'import form')
    await page.getByLabel(/SARIF 2\.1\.0 log or CycloneDX 1\.4\/1\.5\/1\.6 BOM/).setInputFiles(SARIF)
    await page.getByLabel('Asset name').fill('semgrep-demo')
    await shot(page, '10-import-form')
    await page.getByRole('button', { name: 'Upload and import' }).click()
    await page.getByText('Status: succeeded').waitFor({ timeout: 120_000 })
    t.match(await page.locator('.counts').innerText(), /created\s+3/, 'the three results became records')
    await shot(page, '11-import-finished')
    await checkAccessibility(t, page, 'import progress')

    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${stack.url}/console/records`)
    await shot(page, '12-queue-390px')
    await checkAccessibility(t, page, 'queue at 390 px')
    t.ok(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth + 1), 'nothing wider than the phone')
    await page.goto(recordUrl)
    await shot(page, '13-record-390px')
    t.ok(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth + 1), 'the record fits the phone')
    await page.setViewportSize({ width: 1280, height: 900 })

    await page.goto(`${stack.url}/console/records`)
    const { default: lighthouse } = await import('lighthouse')
    const result = await lighthouse(`${stack.url}/console/records`, { port: lighthousePort, output: 'json', logLevel: 'error', disableStorageReset: true, onlyCategories: ['performance', 'accessibility', 'best-practices'], formFactor: 'desktop', screenEmulation: { mobile: false, width: 1280, height: 900, deviceScaleFactor: 1, disabled: false }, throttlingMethod: 'simulate' })
    const scores = Object.fromEntries(Object.entries(result!.lhr.categories).map(([name, category]) => [name, Math.round((category.score ?? 0) * 100)]))
    await writeFile(LIGHTHOUSE_REPORT, JSON.stringify({ url: '/console/records', scores }, null, 2))
    t.comment(`Lighthouse on the queue: ${JSON.stringify(scores)}`)
    t.equal(result!.lhr.finalDisplayedUrl.includes('/console/records'), true, 'Lighthouse scored the signed-in queue, not the sign-in page')
    for (const [name, score] of Object.entries(scores)) t.ok(score >= 90, `Lighthouse ${name} ${score} ≥ 90`)

    await signOut(page)
    t.same(blocked, [], 'the CSP never had to block anything')
    await shot(page, '14-signed-out-again')
    await page.goto(`${stack.url}/console/records`)
    t.match(page.url(), /\/oauth2\/authorize/, 'after sign-out the queue asks to sign in again')
  })

  await t.test('the read-only person sees no edit controls and is refused a forced write', async (t) => {
    const context = await newContext(profiles, 'viewer')
    t.teardown(() => context.close())
    const page = context.pages()[0] ?? await context.newPage()
    const blocked = watchCsp(page)
    await signIn(page, stack, 'local-viewer')
    await page.goto(`${stack.url}/console/records`)
    t.equal(await page.locator('table.queue tbody tr').count() > 0, true, 'the viewer reads the queue')
    t.equal(await page.locator('input[type=checkbox][name=record]').count(), 0, 'no selection for bulk triage')
    t.equal(await page.getByRole('link', { name: 'Import' }).count(), 0, 'no import')
    await page.goto(`${stack.url}/console/records/${seeded[0]!.id}`)
    t.equal(await page.locator('form.triage').count(), 0, 'no triage form')
    t.ok(await page.getByText('You have read-only access.').isVisible())
    await shot(page, '15-viewer-record')
    const forced = await page.evaluate(async (id) => (await fetch(`/console/records/${id}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'version=1&status=resolved&assignee=viewer' })).status, seeded[0]!.id)
    t.equal(forced, 403, 'a forced write is a 403')
    await signOut(page)
    t.same(blocked, [], 'the CSP never had to block anything')
  })

  await t.test('the other tenant\'s person sees none of local\'s records', async (t) => {
    const context = await newContext(profiles, 'other')
    t.teardown(() => context.close())
    const page = context.pages()[0] ?? await context.newPage()
    const blocked = watchCsp(page)
    await signIn(page, stack, 'other-triager')
    await page.goto(`${stack.url}/console/records`)
    const titles = await page.locator('table.queue tbody td:nth-child(2)').allInnerTexts()
    t.same(titles, ['Other tenant: exposed Redis'])
    await shot(page, '16-other-tenant-queue')
    const response = await page.goto(`${stack.url}/console/records/${seeded[0]!.id}`)
    t.equal(response?.status(), 404, 'local\'s record is a 404 for them')
    t.match(await page.getByRole('alert').innerText(), /request id/, 'the problem is a sentence with the request id')
    await signOut(page)
    t.same(blocked, [], 'the CSP never had to block anything')
  })
})
