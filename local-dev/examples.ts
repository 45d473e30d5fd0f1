import { createRecordRequests, exampleImportId, exampleRecordId, finishedImport } from '../scripts/openapi/examples.ts'
import { insertRecord } from '../shared/operations/record-writes.ts'
import type { DataLayer } from '../shared/operations/data-layer.ts'
import type { RequestContext } from '../shared/operations/request-context.ts'
import { buildNewRecord } from '../shared/records/model.ts'

const TENANT = 'local'
const SEEDER = 'security-records-examples'

/**
 * What the examples of /docs name, seeded into the `local` tenant when `npm start` starts, so
 * that each example runs as it is: the record `exampleRecordId` (version 1, made from the first
 * create example), which get, history, the triage patch (`If-Match: "1"`) and delete name, and
 * the finished import `exampleImportId` that getImport names (the documented import, as stored).
 * Each is written only when it is missing: a record a visitor changed is left as it is (the patch
 * example then answers 412 with the current ETag), and one a visitor deleted comes back at the
 * next start.
 */
export async function seedExamples (data: DataLayer, now = new Date()): Promise<void> {
  const actor = { sub: 'local-admin', clientId: 'local-admin', tenant: TENANT }
  const context: RequestContext = { actor, now, requestId: SEEDER }
  if (!await data.records.get(TENANT, exampleRecordId)) {
    await insertRecord(data, context, buildNewRecord(createRecordRequests.cvssScored.value, exampleRecordId, context))
  }
  if (!await data.imports.get(TENANT, exampleImportId)) {
    await data.imports.create(TENANT, {
      ...finishedImport,
      status: 'queued',
      finishedAt: null,
      tenant: TENANT,
      actor: { sub: actor.sub, clientId: actor.clientId },
      chunkCount: 0,
      runParts: 0,
      processedChunks: 0
    } as never)
    // Through its lease, as a processor ends an import: succeeded, with the documented counts.
    await data.imports.acquire(TENANT, exampleImportId, SEEDER, now, 60_000)
    await data.imports.finish(TENANT, exampleImportId, SEEDER, 'succeeded', { counts: finishedImport.counts, errors: [] }, now)
  }
}
