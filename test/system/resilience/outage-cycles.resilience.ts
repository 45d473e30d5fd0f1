import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { aRecord, buildHardenedApi, problemViolation, startControlledStore, storedRecords } from './harness.ts'
import { history, patch } from './concurrency-scenarios.ts'

const WRITERS = 10
const CHANGES_PER_WRITER = 5
const OUTAGES = 3

/**
 * `npm run test:resilience`: writers keep changing one record while the store goes down and
 * comes back three times. A writer retries on 412 and 503, and before retrying checks whether
 * its change already landed (a 503 can hide a committed write). At the end every change is
 * there exactly once, versions and history are contiguous, and nothing but 200/412/503 was seen.
 */
t.test(`${WRITERS} writers × ${CHANGES_PER_WRITER} changes through ${OUTAGES} store outages: every change lands exactly once, history complete`, async (t) => {
  const controlled = await startControlledStore(t)
  const api = await buildHardenedApi(t, { store: controlled.client({ timeoutMs: 500, maxAttempts: 2 }) })
  const authorization = await api.bearer()
  const created = await api.create(aRecord({ description: 'log:' }))
  const url = `/v1/records/${created.id}`
  const seen = new Map<number, number>()
  const bad: string[] = []
  const note = (response: { statusCode: number, headers: Record<string, unknown>, body: string }) => {
    seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1)
    if (response.statusCode === 200) return
    if (![412, 503].includes(response.statusCode) || problemViolation(response.statusCode, response.headers, response.body, { min: 412, max: 503 })) bad.push(`${response.statusCode} ${response.body.slice(0, 200)}`)
    else if (response.statusCode === 503 && !response.headers['retry-after']) bad.push('503 without Retry-After')
  }

  const writer = async (i: number) => {
    for (let change = 0; change < CHANGES_PER_WRITER; change++) {
      const line = `writer-${i}-change-${change}`
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt))
        const current = await api.app.inject({ method: 'GET', url, headers: { authorization } })
        note(current)
        if (current.statusCode !== 200) continue
        const description = String(current.json().description)
        if (description.split('\n').includes(line)) break
        const response = await patch(api, authorization, created.id, { description: `${description}\n${line}` }, String(current.headers.etag))
        note(response)
        if (response.statusCode === 200) break
      }
    }
  }
  const chaos = async () => {
    for (let outage = 0; outage < OUTAGES; outage++) {
      await sleep(400)
      await controlled.stop()
      await sleep(700)
      await controlled.start()
    }
  }
  await Promise.all([chaos(), ...Array.from({ length: WRITERS }, (_, i) => writer(i))])

  const total = WRITERS * CHANGES_PER_WRITER
  t.same(bad, [], 'only 200, 412 and 503 problems (with Retry-After) were seen')
  t.ok((seen.get(503) ?? 0) > 0, `the outages were felt: ${JSON.stringify(Object.fromEntries(seen))}`)
  const [stored] = await storedRecords(api.store)
  const lines = String(stored!.description).split('\n').slice(1)
  t.equal(lines.length, total, `${total} changes in the record`)
  t.equal(new Set(lines).size, total, 'each exactly once')
  t.equal(stored!.version, total + 1, `version ${total + 1}`)
  const entries = (await history(api, authorization, created.id)).items
  t.same(entries.map((entry) => entry.version), Array.from({ length: total + 1 }, (_, i) => total + 1 - i), 'a history entry for every version, none missing or doubled')
  t.comment(`outage cycles: ${total} changes through ${OUTAGES} outages; responses ${JSON.stringify(Object.fromEntries(seen))}`)
})
