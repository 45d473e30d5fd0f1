import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { EncryptJWT } from 'jose'
import { api, clientToken, get, keep, postForm, signIn, startConsoleStack, startSignIn, type Jar } from './harness.ts'

const SESSION = 'console'

t.test('the console refuses what an attacker tries', async (t) => {
  const stack = await startConsoleStack(t)
  const admin = await clientToken(stack, 'local-admin')
  const target = (await api(stack, admin, '/v1/records', { method: 'POST', body: { title: 'CSRF target', category: 'vulnerability', severity: 'high', asset: { name: 'web', type: 'service' } } })).body

  await t.test('CSRF: a cross-origin POST carrying the session cookie changes nothing', async (t) => {
    const { jar } = await signIn(stack, 'local-triager')
    for (const origin of ['https://evil.example', 'null', `${stack.url}.evil.example`, null]) {
      const response = await postForm(stack, `/console/records/${target.id}`, jar, { version: '1', status: 'false_positive', statusReason: 'csrf', assignee: 'attacker', severity: 'high' }, origin)
      t.equal(response.status, 403, `Origin ${origin ?? '(none)'}: 403`)
      const bulk = await postForm(stack, '/console/bulk', jar, { record: `${target.id}:1`, status: 'resolved' }, origin)
      t.equal(bulk.status, 403, `bulk from ${origin ?? '(none)'}: 403`)
      const signOut = await postForm(stack, '/console/signout', jar, {}, origin)
      t.equal(signOut.status, 403, `sign-out from ${origin ?? '(none)'}: 403 (no logout CSRF either)`)
    }
    const stored = await api(stack, admin, `/v1/records/${target.id}`)
    t.match(stored.body, { version: 1, status: 'open' }, 'the record is untouched')
    t.notOk('assignee' in stored.body)
    const same = await postForm(stack, `/console/records/${target.id}`, jar, { version: '1', assignee: 'tess', status: 'open', severity: 'high' })
    t.equal(same.status, 303, 'the same request from the console\'s own origin goes through')
  })

  await t.test('the session cookie is HttpOnly, SameSite=Strict, and (on loopback) not Secure', async (t) => {
    const { jar, callback } = await startSignIn(stack, 'local-triager')
    const back = await get(stack, `${callback.pathname}${callback.search}`, jar)
    const session = back.headers.getSetCookie().find((line) => line.startsWith(`${SESSION}=`))!
    t.match(session, /HttpOnly/i)
    t.match(session, /SameSite=Strict/i)
    t.match(session, /Path=\//)
    t.notMatch(session, /Domain=/i, 'host-only')
    const value = session.split(';')[0]!.slice(SESSION.length + 1)
    t.notMatch(Buffer.from(value.split('.')[1] ?? '', 'base64url').toString('latin1'), /eyJ/, 'the token is not readable inside the cookie (encrypted, not merely signed)')
  })

  await t.test('a tampered or forged session cookie is no session', async (t) => {
    const { jar } = await signIn(stack, 'local-triager')
    const genuine = jar.get(SESSION)!
    const flipped = genuine.slice(0, -5) + (genuine.at(-5) === 'A' ? 'B' : 'A') + genuine.slice(-4)
    const parts = genuine.split('.')
    const swappedHeader = [Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A128GCM' })).toString('base64url'), ...parts.slice(1)].join('.')
    const otherKey = await new EncryptJWT({ value: { accessToken: admin, expiresAt: Math.floor(Date.now() / 1000) + 600, sub: 'mallory', name: 'Mallory', tenant: 'local', scopes: ['records:read', 'records:write'] } })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).setAudience('console-session').setExpirationTime('10m').encrypt(randomBytes(32))
    const signInCookie = (await startSignIn(stack, 'local-triager')).jar.get('console-signin')!
    for (const [name, value] of [['one character flipped', flipped], ['header swapped', swappedHeader], ['sealed with another key', otherKey], ['a sign-in cookie as session', signInCookie], ['garbage', 'x'.repeat(5000)]] as const) {
      const response = await get(stack, '/console/records', new Map([[SESSION, value]]))
      t.equal(response.status, 303, `${name}: sent to sign in`)
      t.match(response.headers.get('location'), /^\/console\/signin\?return=/, name)
    }
  })

  await t.test('replay after sign-out: the old cookie is worth nothing (its token was revoked)', async (t) => {
    const { jar } = await signIn(stack, 'local-triager')
    const copy: Jar = new Map(jar)
    t.equal((await get(stack, '/console/records', jar)).status, 200)
    const out = await postForm(stack, '/console/signout', jar, {})
    t.equal(out.status, 303)
    keep(jar, out)
    t.notOk(jar.has(SESSION), 'sign-out clears the cookie')
    const replay = await get(stack, '/console/records', copy)
    t.equal(replay.status, 303, 'the copied cookie gets no page')
    t.match(replay.headers.get('location'), /^\/console\/signin/)
    const write = await postForm(stack, `/console/records/${target.id}`, copy, { version: '2', assignee: 'replayed', status: 'open', severity: 'high' })
    t.equal(write.status, 401, 'nor a write')
    t.not((await api(stack, admin, `/v1/records/${target.id}`)).body.assignee, 'replayed')
  })

  await t.test('open redirect: a return URL off the console, or a foreign redirect_uri, goes nowhere else', async (t) => {
    for (const returnTo of ['https://evil.example/', '//evil.example/console', '/\\evil.example', 'javascript:alert(1)', '/consolex', '/console/signin?return=https://evil.example']) {
      const { location } = await signIn(stack, 'local-triager', returnTo)
      t.equal(location, '/console', `${returnTo} → /console`)
    }
    const traversal = await get(stack, `/console/signin?return=${encodeURIComponent('/console/../..//evil.example')}`)
    t.equal(traversal.status, 400, 'a return URL climbing out with ../.. is refused at the gateway already')
    const { location } = await signIn(stack, 'local-triager', '/console/records?severity=high')
    t.equal(location, '/console/records?severity=high', 'a console path is kept, query and all')

    const { authorize } = await startSignIn(stack, 'local-triager')
    authorize.searchParams.set('redirect_uri', 'https://evil.example/console/callback')
    const foreign = await fetch(authorize, { redirect: 'manual' })
    t.equal(foreign.status, 400)
    t.equal(foreign.headers.get('location'), null, 'mock-auth never redirects to an unregistered URI')
  })

  await t.test('code replay: a callback URL used twice fails, and the first session\'s token is revoked', async (t) => {
    const { jar, callback } = await startSignIn(stack, 'local-triager')
    const saved: Jar = new Map(jar)
    const first = await get(stack, `${callback.pathname}${callback.search}`, jar)
    t.equal(first.status, 303)
    keep(jar, first)
    t.equal((await get(stack, '/console/records', jar)).status, 200)
    const second = await get(stack, `${callback.pathname}${callback.search}`, saved)
    t.equal(second.status, 400, 'the replayed code signs nobody in')
    t.match(await second.text(), /Sign-in failed/)
    t.equal((await get(stack, '/console/records', jar)).status, 303, 'and the session the code made is over')
  })

  await t.test('PKCE: a code injected into another browser\'s callback (its own verifier) fails; plain and no challenge are refused', async (t) => {
    const attacker = await startSignIn(stack, 'other-triager')
    const victim = await startSignIn(stack, 'local-triager')
    // The attacker's code, with the victim's state so that check passes: only PKCE stands in the way.
    const injected = new URL(victim.callback)
    injected.searchParams.set('code', attacker.callback.searchParams.get('code')!)
    const response = await get(stack, `${injected.pathname}${injected.search}`, victim.jar)
    t.equal(response.status, 400)
    t.match(await response.text(), /could not be completed/)
    t.notOk(response.headers.getSetCookie().some((line) => line.startsWith(`${SESSION}=`) && !/01 Jan 1970/.test(line)), 'no session')
    const wrongState = await get(stack, `${victim.callback.pathname}?${new URLSearchParams({ ...Object.fromEntries(victim.callback.searchParams), state: 'forged' })}`, victim.jar)
    t.equal(wrongState.status, 400, 'a response with another state is refused')

    for (const [name, changes] of [['plain', { code_challenge_method: 'plain' }], ['no challenge', { code_challenge: '', code_challenge_method: '' }]] as const) {
      const downgraded = new URL(victim.authorize)
      for (const [key, value] of Object.entries(changes)) {
        if (value) downgraded.searchParams.set(key, value)
        else downgraded.searchParams.delete(key)
      }
      const answer = await fetch(downgraded, { redirect: 'manual' })
      t.equal(answer.status, 303, name)
      t.equal(new URL(answer.headers.get('location')!).searchParams.get('error'), 'invalid_request', `${name}: refused`)
    }
  })

  await t.test('XSS: every field an attacker controls is shown as text', async (t) => {
    const payloads = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', '\'><svg onload=alert(3)>']
    const hostile = (await api(stack, admin, '/v1/records', {
      method: 'POST',
      body: { title: `t ${payloads[0]}`, description: `d ${payloads[1]}`, category: 'vulnerability', severity: 'critical', assignee: payloads[2], statusReason: undefined, asset: { name: `a ${payloads[1]}`, type: 'service' }, references: ['https://example.com/%22%3E%3Cscript%3Ealert(4)%3C/script%3E'], source: { tool: `tool ${payloads[0]}`, ruleId: payloads[2] } }
    })).body
    t.ok(hostile.id, 'the hostile record exists')
    const sarif = JSON.parse(await readFile(new URL('../../fixtures/sarif/semgrep-1.185.0.sarif', import.meta.url), 'utf8'))
    sarif.runs[0].tool.driver.name = `semgrep ${payloads[0]}`
    for (const result of sarif.runs[0].results) result.message.text = `${payloads[1]} ${result.message.text}`
    const imported = await api(stack, admin, `/v1/imports?asset=${encodeURIComponent(`repo ${payloads[2]}`)}&assetType=repository`, { method: 'POST', body: JSON.stringify(sarif), headers: { 'content-type': 'application/sarif+json' } })
    t.ok(imported.status === 201 || imported.status === 202, 'the import is accepted')
    let state = imported.body
    for (let attempt = 0; attempt < 200 && state.status !== 'succeeded' && state.status !== 'failed'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      state = (await api(stack, admin, `/v1/imports/${imported.body.id}`)).body
    }
    t.equal(state.status, 'succeeded')

    const { jar } = await signIn(stack, 'local-triager')
    // The overview's top assets come from the metrics counters, which the record events fill: wait until they are counted.
    let topAssets: Array<{ name: string }> = []
    for (let attempt = 0; attempt < 200 && !(topAssets.some((asset) => asset.name === `a ${payloads[1]}`) && topAssets.some((asset) => asset.name === `repo ${payloads[2]}`)); attempt++) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 100))
      topAssets = (await api(stack, admin, '/v1/metrics')).body.topAssets ?? []
    }
    t.ok(topAssets.some((asset) => asset.name === `a ${payloads[1]}`), 'the hostile asset names are among the top assets')
    const records = (await api(stack, admin, '/v1/records?limit=100')).body.items as Array<{ id: string }>
    const pages = ['/console', '/console/records', '/console/records?limit=100', `/console/records?asset=${encodeURIComponent(`a ${payloads[1]}`)}`, `/console/imports/${imported.body.id}`, ...records.map((record) => `/console/records/${record.id}`)]
    for (const path of pages) {
      const response = await get(stack, path, jar)
      t.equal(response.status, 200, path)
      const body = await response.text()
      t.notMatch(body, /<script>alert|<img src=x|<svg onload|onerror=alert\(2\)>/, `${path}: no markup from the data`)
      t.match(response.headers.get('content-security-policy'), /script-src 'self'/, `${path}: CSP in force`)
    }
    const page = await (await get(stack, `/console/records/${hostile.id}`, jar)).text()
    t.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the title is shown as text')
    t.match(page, /&quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;/, 'the description and asset name too')
    const overview = await (await get(stack, '/console', jar)).text()
    t.match(overview, /a &quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;<\/a> — \d+ open/, 'an asset name among the overview\'s top assets is text')
    t.match(overview, /repo &#39;&gt;&lt;svg onload=alert\(3\)&gt;<\/a> — \d+ open/, 'and the imported report\'s asset too')
  })
})
