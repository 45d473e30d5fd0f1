import { readFile } from 'node:fs/promises'
import t from 'tap'
import { api, clientToken, cookieHeader, get, signIn, startConsoleStack } from './harness.ts'

t.test('the console\'s import page takes a CycloneDX BOM as well as a SARIF log', async (t) => {
  const stack = await startConsoleStack(t)
  const { jar } = await signIn(stack, 'local-triager')
  const page = await (await get(stack, '/console/import', jar)).text()
  t.match(page, /<h1>Import a SARIF 2\.1\.0 log or CycloneDX 1\.4\/1\.5\/1\.6 BOM<\/h1>/, 'the heading names every format the import takes')
  t.match(page, /<label>SARIF 2\.1\.0 log or CycloneDX 1\.4\/1\.5\/1\.6 BOM \(\.sarif, \.sarif\.json, \.json, \.cdx\.json or \.bom\.json, up to 10 MB\)/)
  t.match(page, /accept="\.sarif,\.sarif\.json,\.json,\.cdx\.json,\.bom\.json,application\/sarif\+json,application\/json,application\/vnd\.cyclonedx\+json"/)
  t.notMatch(page, /Import a SARIF report/)
  const form = new FormData()
  form.set('asset', 'shop-image')
  form.set('assetType', 'container_image')
  form.set('report', new Blob([await readFile(new URL('../../fixtures/cyclonedx/trivy-shaped-1.6.bom.json', import.meta.url))], { type: 'application/vnd.cyclonedx+json' }), 'bom.cdx.json')
  const response = await fetch(new URL('/console/import', stack.url), { method: 'POST', redirect: 'manual', headers: { cookie: cookieHeader(jar), origin: stack.url }, body: form })
  t.equal(response.status, 303, await response.text())
  t.match(response.headers.get('location'), /^\/console\/imports\//)
  const token = await clientToken(stack, 'local-admin')
  const listed = await api(stack, token, '/v1/records?asset=shop-image')
  const items = (listed.body as { items: Array<{ component?: { name: string } }> }).items
  t.equal(items.length, 4, 'one record per vulnerability and component')
})
