import t from 'tap'
import { processImport } from '../../shared/imports/process-import.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, receive, waitForImportOrSweep } from '../support/imports-api.ts'

/**
 * A poison import (one whose processing kills its process) is not taken up into one process
 * after another: a process that dies leaves its attempt marker behind, and an import abandoned
 * twice at the same checkpoint fails there. What a dead process leaves in the store is made here
 * by taking the lease and never finishing nor giving it up.
 */

const report = aReport(Array.from({ length: 150 }, (_, line) => ({ rule: 'r', line })))

/** A processor that takes the import up and dies before its next write. */
async function dieWhileApplying (api: RecordsApiHarness, id: string, owner: string) {
  let dead = false
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (dead && /^(Put|Update|Delete|BatchWrite)(Item)?Command$/.test(String(context.commandName))) throw Object.assign(new Error('process died'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    // The lease, and the note of the attempt abandoned before: then nothing more.
    if (String(context.commandName) === 'UpdateItemCommand' && (args.input as { UpdateExpression?: string }).UpdateExpression?.startsWith('SET abandonedAt')) dead = true
    return next(args)
  }, { step: 'initialize', name: `die:${owner}` })
  await processImport(api.data, 'acme', id, { owner, leaseMs: 1 }).catch(() => {})
  api.store.client.middlewareStack.remove(`die:${owner}`)
}

t.test('an import whose processor died twice at the same checkpoint fails there, naming it, instead of being taken up again', async (t) => {
  const api = await buildRecordsApi(t)
  const { id } = await receive(api, report)
  t.ok(await api.data.imports.acquire('acme', id, 'first-process', new Date(), 1), 'the first process takes it up, and dies')
  await new Promise((resolve) => setTimeout(resolve, 5))
  await dieWhileApplying(api, id, 'second-process')
  const state = await api.data.imports.get('acme', id)
  t.match(state, { status: 'running', abandonedAt: 0, processedChunks: 0 }, 'the second process noted the first one\'s death, then died too')

  const done = await waitForImportOrSweep(api, id)
  t.equal(done.status, 'failed')
  t.match(done.errors.at(-1), { path: '', message: /stopped twice at chunk 1 of 2 without finishing or giving up/ })
  t.equal((await waitForImportOrSweep(api, id, 3)).status, 'failed', 'not taken up again')
})

t.test('an import abandoned once is resumed, and one given up on drain is resumed however often', async (t) => {
  const api = await buildRecordsApi(t)
  const { id } = await receive(api, report)
  for (const owner of ['draining-1', 'draining-2', 'draining-3']) {
    t.ok(await api.data.imports.acquire('acme', id, owner, new Date(), 60_000))
    await api.data.imports.release('acme', id, owner, new Date())
  }
  t.ok(await api.data.imports.acquire('acme', id, 'died', new Date(), 1))
  await new Promise((resolve) => setTimeout(resolve, 5))
  const done = await waitForImportOrSweep(api, id)
  t.equal(done.status, 'succeeded')
  t.match(done.counts, { results: 150, created: 150 })
})

t.test('deaths at different checkpoints are each forgiven once', async (t) => {
  const api = await buildRecordsApi(t)
  const { id } = await receive(api, report)
  t.ok(await api.data.imports.acquire('acme', id, 'died-at-0', new Date(), 1))
  await new Promise((resolve) => setTimeout(resolve, 5))
  // The next one notes the death at checkpoint 0, applies chunk 1, and dies at checkpoint 1.
  const progressed = await api.data.imports.acquire('acme', id, 'progressing', new Date(), 60_000)
  t.ok(progressed?.abandonedBy)
  t.ok(await api.data.imports.noteAbandoned('acme', id, 'progressing', 0))
  t.ok(await api.data.imports.checkpoint('acme', id, 'progressing', { processedChunks: 1, counts: progressed!.counts, errors: [] }, new Date(), 1))
  await new Promise((resolve) => setTimeout(resolve, 5))
  const done = await waitForImportOrSweep(api, id)
  t.equal(done.status, 'succeeded', 'the death at checkpoint 1 is its first there')
})
