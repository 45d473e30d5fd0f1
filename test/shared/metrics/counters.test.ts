import t from 'tap'
import { byItem, contributionDelta, contributionOf, foldPastDue, recount, ttrBucket, ttrBucketSeconds, type RecordFacts } from '../../../shared/metrics/counters.ts'
import { daysBack, percentileSeconds, summarize } from '../../../shared/metrics/summary.ts'

const open: RecordFacts = { severity: 'high', status: 'open', category: 'vulnerability', asset: 'api', createdAt: '2026-11-01T10:00:00.000Z', statusChangedAt: '2026-11-01T10:00:00.000Z', dueAt: '2026-12-01T10:00:00.000Z' }
const resolved: RecordFacts = { ...open, status: 'resolved', statusChangedAt: '2026-11-03T10:00:00.000Z' }

const adds = (facts: RecordFacts | null, before: RecordFacts | null = null) =>
  Object.fromEntries(byItem(contributionDelta(before, facts)).map(({ item, adds }) => [item.kind === 'counts' ? 'counts' : item.kind === 'day' ? `day:${item.day}` : `asset:${item.asset}`, adds]))

t.test('an open record counts by severity and status, category, due day, its creation day and its asset', async (t) => {
  t.same(adds(open), {
    counts: { 's|high|open': 1, 'c|vulnerability': 1, 'd|high|2026-12-01': 1 },
    'asset:api': { 's|high|open': 1, open: 1, 'd|high|2026-12-01': 1 },
    'day:2026-11-01': { opened: 1 }
  })
})

t.test('resolving moves the record out of the open counters and into its resolution day, with its time to remediate and whether it was in time', async (t) => {
  t.same(adds(resolved, open), {
    counts: { 's|high|open': -1, 's|high|resolved': 1, 'c|vulnerability': -1, 'd|high|2026-12-01': -1 },
    'asset:api': { 's|high|open': -1, 's|high|resolved': 1, open: -1, 'd|high|2026-12-01': -1 },
    'day:2026-11-03': { 'r|high': 1, [`t|high|${ttrBucket(2 * 86_400_000)}`]: 1, 'm|high': 1 }
  })
})

t.test('a change that touches no counter adds nothing; deleting takes back exactly what the record added', async (t) => {
  t.same(adds(open, open), {})
  const deleted = contributionDelta(resolved, null)
  t.same([...deleted.values()].map((entry) => entry.add).sort(), [...contributionOf(resolved).values()].map(() => -1))
})

t.test('the recount of many records is the sum of their contributions', async (t) => {
  const items = recount([open, open, resolved])
  const counts = items.find(({ item }) => item.kind === 'counts')!.adds
  t.equal(counts['s|high|open'], 2)
  t.equal(counts['s|high|resolved'], 1)
})

t.test('duration buckets: monotone, and a bucket\'s bound is at most 2^(1/8) above any duration in it', async (t) => {
  let previous = -1
  for (const minutes of [0.5, 1, 1.05, 2, 59, 60, 61, 1440, 10_000, 525_600]) {
    const bucket = ttrBucket(minutes * 60_000)
    t.ok(bucket >= previous, `bucket of ${minutes} min`)
    previous = bucket
    t.ok(ttrBucketSeconds(bucket) >= Math.max(minutes, 1) * 60 - 1)
    t.ok(ttrBucketSeconds(bucket) <= Math.max(minutes, 1) * 60 * 2 ** (1 / 8) + 1)
  }
})

t.test('percentiles are the nearest rank of the histogram', async (t) => {
  t.equal(percentileSeconds(new Map(), 0.5), null)
  t.equal(percentileSeconds(new Map([[0, 1], [8, 1], [16, 1]]), 0.5), ttrBucketSeconds(8))
  t.equal(percentileSeconds(new Map([[0, 9], [16, 1]]), 0.9), ttrBucketSeconds(0))
  t.equal(percentileSeconds(new Map([[0, 8], [16, 2]]), 0.9), ttrBucketSeconds(16))
})

t.test('overdue is read at read time: a due day counts once it is over', async (t) => {
  const counts = { 's|high|open': 2, 'd|high|2026-12-01': 1, 'd|high|2026-12-02': 1 }
  const on = (now: string) => summarize({ now: new Date(now), windowDays: 30, counts, days: new Map(), topAssets: [] }).overdue.total
  t.equal(on('2026-12-01T23:59:00.000Z'), 0)
  t.equal(on('2026-12-02T00:00:00.000Z'), 1)
  t.equal(on('2026-12-03T00:00:00.000Z'), 2)
})

t.test('folding the past due days into the overdue counters changes no figure, at any later day, and folding twice changes nothing', async (t) => {
  const counts = { 's|high|open': 3, 'd|high|2026-11-30': 1, 'd|high|2026-12-01': -1, 'd|high|2026-12-02': 2, 'd|low|2026-11-01': 1, 'o|high': 1 }
  const folded = foldPastDue(counts, '2026-12-02')
  t.same(folded, { 's|high|open': 3, 'd|high|2026-12-02': 2, 'o|high': 1, 'o|low': 1 })
  t.same(foldPastDue(folded, '2026-12-02'), folded)
  const on = (now: string, values: Record<string, number>) => summarize({ now: new Date(now), windowDays: 30, counts: values, days: new Map(), topAssets: [] }).overdue
  for (const now of ['2026-12-02T00:00:00.000Z', '2026-12-03T00:00:00.000Z']) t.same(on(now, folded), on(now, counts), now)
  t.same(on('2026-12-03T00:00:00.000Z', folded).bySeverity.high, 3)
})

t.test('the trend covers at least 90 days and the window its own days', async (t) => {
  const summary = summarize({ now: new Date('2026-12-06T12:00:00.000Z'), windowDays: 7, counts: {}, days: new Map([['2026-12-06', { opened: 3, 'r|low': 1 }]]), topAssets: [] })
  t.equal(summary.trend!.length, 90)
  t.same(summary.trend!.at(-1), { day: '2026-12-06', opened: 3, resolved: 1 })
  t.same(summary.window, { days: 7, from: '2026-11-30', to: '2026-12-06' })
  t.same(daysBack(new Date('2026-03-01T00:00:00Z'), 2), ['2026-02-28', '2026-03-01'])
})
