import { setTimeout } from 'node:timers/promises'
import type { Test } from 'tap'
import { aRecord, buildHardenedApi, storedRecords, type HardenedApi } from './harness.ts'

export async function patch (api: HardenedApi, authorization: string, id: string, body: unknown, ifMatch: string) {
  return api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization, 'content-type': 'application/merge-patch+json', 'if-match': ifMatch }, payload: JSON.stringify(body) })
}

export async function history (api: HardenedApi, authorization: string, id: string) {
  return (await api.app.inject({ method: 'GET', url: `/v1/records/${id}/history?limit=100`, headers: { authorization } })).json() as { items: Array<{ version: number, action: string, changes: Array<{ path: string, to: unknown }> }>, nextCursor: string | null }
}

/**
 * `writers` concurrent read-modify-write PATCHes of one record, each retrying on 412 with
 * jittered exponential backoff: every change must be applied, none lost.
 */
export async function retryingWriters (t: Test, writers: number): Promise<void> {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const created = await api.create(aRecord({ description: 'log:' }))
  let attempts = 0
  // Each writer appends its own line to the description it read: a lost update would lose a line.
  // Like a well-behaved client it backs off (with jitter) before retrying a 412.
  const writer = async (i: number) => {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await setTimeout(Math.random() * Math.min(2000, 50 * 2 ** attempt))
      const current = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization } })
      attempts++
      const response = await patch(api, authorization, created.id, { description: `${current.json().description}\nwriter-${i}` }, String(current.headers.etag))
      if (response.statusCode === 200) return
      if (response.statusCode !== 412) throw new Error(`writer ${i}: ${response.statusCode} ${response.body}`)
    }
  }
  await Promise.all(Array.from({ length: writers }, (_, i) => writer(i)))
  const [stored] = await storedRecords(api.store)
  t.equal(stored!.version, writers + 1, `final version ${writers + 1}`)
  const lines = String(stored!.description).split('\n').slice(1)
  t.same([...lines].sort(), Array.from({ length: writers }, (_, i) => `writer-${i}`).sort(), 'every writer\'s line is there, once')
  const page = await history(api, authorization, created.id)
  t.equal(page.items.length, writers + 1, `history: 1 created + ${writers} updated`)
  t.same(page.items.map((entry) => entry.version), Array.from({ length: writers + 1 }, (_, i) => writers + 1 - i), 'one entry per version, none missing')
  t.equal(page.items.filter((entry) => entry.action === 'updated').length, writers)
  t.comment(`retrying writers: ${writers} changes applied in ${attempts} attempts, final version ${stored!.version}, ${page.items.length} history entries`)
}
