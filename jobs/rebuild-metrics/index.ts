/**
 * Recomputes tenants' metrics counters from their records and reports the drift:
 * `METRICS_TENANTS=acme,globex node jobs/rebuild-metrics/index.ts` (a CronJob in the cluster).
 * Each tenant's records are walked with Queries of its list index (never a Scan); records whose
 * events were lost are counted again through the same guarded path as events, so it is safe
 * beside live deliveries. Asset places in the top list that do not show their asset's count are
 * written from the asset. Then tombstones of records deleted more than TOMBSTONE_RETENTION_DAYS
 * ago and day and block items older than any read asks for are removed (pruned counts in the log
 * line). Exits non-zero when drift remains after the repair.
 *
 * `METRICS_RESET=on` rewrites the tenants' counters from the recount instead (after a change of
 * the counters' layout or of what a record counts under): only with the tenants' deliveries
 * paused (`METRICS_DELIVERIES=paused` on record-metrics), then a run without it repairs what was
 * dead-lettered meanwhile. See docs/architecture.md.
 */
import { Type } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'
import { createStore } from '../../shared/store/client.ts'
import { createMetricsRepository } from '../../shared/store/metrics-repository.ts'
import { createRecordsRepository } from '../../shared/store/records-repository.ts'
import { rebuildMetrics } from './rebuild-metrics.ts'

// The store settings of the functions (not the create-table job's module: this job never creates or describes a table).
const { TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS } = ConfigSchema.properties
const RebuildConfigSchema = Type.Object({
  TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS,
  METRICS_TENANTS: Type.String({ default: '', pattern: '^([A-Za-z0-9][A-Za-z0-9_.-]{0,63}(,[A-Za-z0-9][A-Za-z0-9_.-]{0,63})*)?$', description: 'Comma-separated tenants whose counters to rebuild (none: nothing to do).' }),
  METRICS_REPAIR: Type.Enum(['on', 'off'], { default: 'on', description: 'off: report the drift only.' }),
  METRICS_RESET: Type.Enum(['on', 'off'], { default: 'off', description: 'on: rewrite the counters from the recount (a layout change; deliveries paused).' })
})

const config = loadSettings(RebuildConfigSchema, process.env)
const store = createStore(config)
try {
  const records = createRecordsRepository(store)
  const metrics = createMetricsRepository(store)
  for (const tenant of config.METRICS_TENANTS.split(',').filter(Boolean)) {
    const outcome = await rebuildMetrics(records, metrics, tenant, { repair: config.METRICS_REPAIR === 'on', reset: config.METRICS_RESET === 'on' })
    const failed = outcome.driftAfter.length > 0 || outcome.placeDriftAfter.length > 0
    console.log(JSON.stringify({ level: failed ? 'error' : 'info', msg: 'metrics rebuilt', tenant, records: outcome.records, drift: outcome.drift.length, placeDrift: outcome.placeDrift.length, repaired: outcome.repaired, ...(outcome.reset ? { reset: outcome.reset } : {}), pruned: outcome.pruned, driftAfter: outcome.driftAfter.length, placeDriftAfter: outcome.placeDriftAfter.length, sample: outcome.drift.slice(0, 10), placeSample: outcome.placeDrift.slice(0, 10) }))
    if (failed) process.exitCode = 1
  }
} catch (error) {
  console.error(JSON.stringify({ level: 'error', msg: 'rebuild-metrics failed', error: (error as Error).message, name: (error as Error).name }))
  process.exitCode = 1
} finally {
  store.client.destroy()
}
