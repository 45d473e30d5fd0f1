import t from 'tap'
import { blockOf, blocksBetween, byItem, contributionDelta, contributionOf, DUE_BLOCK_DAYS, endsBefore, foldPastDue, itemName, recount, RESOLVED_UNIT, REMEDIATION_BLOCK_DAYS, retentionHorizon, splitIntoBlocks, TREND_BLOCK_DAYS, trendFigures, ttrBucket, ttrBucketSeconds, type RecordFacts } from '../../../shared/metrics/counters.ts'
import { daysBack, MAX_WINDOW_DAYS, percentileSeconds, summarize } from '../../../shared/metrics/summary.ts'

const open: RecordFacts = { severity: 'high', status: 'open', category: 'vulnerability', asset: 'api', createdAt: '2026-11-01T10:00:00.000Z', statusChangedAt: '2026-11-01T10:00:00.000Z', dueAt: '2026-12-01T10:00:00.000Z' }
const resolved: RecordFacts = { ...open, status: 'resolved', statusChangedAt: '2026-11-03T10:00:00.000Z' }

const adds = (facts: RecordFacts | null, before: RecordFacts | null = null) =>
  Object.fromEntries(byItem(contributionDelta(before, facts)).map(({ item, adds }) => [itemName(item), adds]))

t.test('an open record counts by severity and status, category, due block (its day in the block\'s item), its creation day in the trend block and its asset', async (t) => {
  t.same(adds(open), {
    counts: { 's|high|open': 1, 'c|vulnerability': 1, 'b|high|2026-11-27': 1 },
    'due:2026-11-27': { 'd|high|2026-12-01': 1 },
    'asset:api': { 's|high|open': 1, open: 1, 'd|high|2026-12-01': 1 },
    'trend:2026-10-26': { 'n|2026-11-01': 1 }
  })
})

t.test('resolving moves the record out of the open counters and into its resolution day and that day\'s remediation block, with its time to remediate and whether it was in time', async (t) => {
  const figures = { 'r|high': 1, [`t|high|${ttrBucket(2 * 86_400_000)}`]: 1, 'm|high': 1 }
  t.same(adds(resolved, open), {
    counts: { 's|high|open': -1, 's|high|resolved': 1, 'c|vulnerability': -1, 'b|high|2026-11-27': -1 },
    'due:2026-11-27': { 'd|high|2026-12-01': -1 },
    'asset:api': { 's|high|open': -1, 's|high|resolved': 1, open: -1, 'd|high|2026-12-01': -1 },
    'day:2026-11-03': figures,
    'remediation:2026-11-03': figures,
    'trend:2026-10-26': { 'n|2026-11-03': RESOLVED_UNIT }
  })
  t.same(adds(null, resolved)['trend:2026-10-26'], { 'n|2026-11-01': -1, 'n|2026-11-03': -RESOLVED_UNIT }, 'deleting takes both back')
  t.same(adds({ ...resolved, statusChangedAt: resolved.createdAt })['trend:2026-10-26'], { 'n|2026-11-01': 1 + RESOLVED_UNIT }, 'opened and resolved the same day: one counter holds both')
})

t.test('blocks are aligned to 1970-01-01; a range splits into the whole blocks inside it and its edge days, each day once', async (t) => {
  t.equal(blockOf('1970-01-08', 8), '1970-01-01')
  t.equal(blockOf('1970-01-09', 8), '1970-01-09')
  t.equal(blockOf('2026-12-01', 8), '2026-11-27')
  t.same(splitIntoBlocks('2026-11-27', '2026-12-04', 8), { blocks: ['2026-11-27'], days: [] })
  t.same(splitIntoBlocks('2026-11-28', '2026-12-04', 8), { blocks: [], days: ['2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04'] })
  t.same(splitIntoBlocks('2026-11-26', '2026-12-13', 8), { blocks: ['2026-11-27', '2026-12-05'], days: ['2026-11-26', '2026-12-13'] })
  for (let length = 1; length <= 40; length++) {
    const from = new Date(Date.UTC(2026, 10, 3 + length)).toISOString().slice(0, 10)
    const to = new Date(Date.UTC(2026, 10, 3 + 2 * length - 1)).toISOString().slice(0, 10)
    const { blocks, days } = splitIntoBlocks(from, to, 8)
    const covered = [...days, ...blocks.flatMap((block) => Array.from({ length: 8 }, (_, i) => new Date(Date.parse(block) + i * 86_400_000).toISOString().slice(0, 10)))].sort()
    t.same(covered, Array.from({ length }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10)), `${length} days`)
    t.ok(days.length <= 14)
  }
})

t.test('a trend counter splits into its opened and resolved counts exactly', async (t) => {
  for (const [opened, resolved] of [[0, 0], [1, 0], [0, 1], [5, 3], [RESOLVED_UNIT - 1, 1_000_000], [RESOLVED_UNIT - 1, 2 ** 27 - 1]] as const) t.same(trendFigures(opened + resolved * RESOLVED_UNIT), { opened, resolved })
})

t.test('a change that touches no counter adds nothing; deleting takes back exactly what the record added', async (t) => {
  t.same(adds(open, open), {})
  const deleted = contributionDelta(resolved, null)
  t.same([...deleted.values()].map((entry) => entry.add), [...contributionOf(resolved).values()].map((entry) => -entry.add))
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

t.test('overdue from due blocks: a block counts once its last day is over; within the block of today, its days before today count', async (t) => {
  // Block 2026-11-27 .. 2026-12-04 holds two due records (2026-11-28, 2026-12-02), block 2026-11-19 one.
  const counts = { 'b|high|2026-11-19': 1, 'b|high|2026-11-27': 2 }
  const dueDays = { 'd|high|2026-11-28': 1, 'd|high|2026-12-02': 1 }
  const on = (now: string, values: Record<string, number>) => summarize({ now: new Date(now), windowDays: 30, counts: values, days: new Map(), topAssets: [] }).overdue.total
  t.equal(on('2026-11-27T00:00:00.000Z', { ...counts, ...dueDays }), 1, 'the block before today\'s is over')
  t.equal(on('2026-11-29T00:00:00.000Z', { ...counts, ...dueDays }), 2)
  t.equal(on('2026-12-04T00:00:00.000Z', { ...counts, ...dueDays }), 3)
  t.equal(on('2026-12-05T00:00:00.000Z', counts), 3, 'the next block: the whole of it is over, its days are not read')
  t.same(foldPastDue(counts, '2026-12-04'), { 'o|high': 1, 'b|high|2026-11-27': 2 }, 'a fold leaves the block of today')
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

t.test('no item a read of the longest window or trend asks for ends before the retention horizon; an item wholly before it does', async (t) => {
  const now = new Date('2026-12-01T12:00:00.000Z')
  const today = '2026-12-01'
  const horizon = retentionHorizon(today)
  const from = daysBack(now, MAX_WINDOW_DAYS)[0]!
  const { blocks, days } = splitIntoBlocks(from, today, REMEDIATION_BLOCK_DAYS)
  const read = [
    ...blocks.map((block) => ({ kind: 'remediation', block }) as const),
    ...days.map((day) => ({ kind: 'day', day }) as const),
    ...blocksBetween(from, today, TREND_BLOCK_DAYS).map((block) => ({ kind: 'trend', block }) as const),
    { kind: 'due', block: blockOf(today, DUE_BLOCK_DAYS) } as const
  ]
  t.same(read.filter((item) => endsBefore(item, horizon)), [])
  t.ok(endsBefore({ kind: 'day', day: '2025-10-26' }, horizon))
  t.notOk(endsBefore({ kind: 'day', day: horizon }, horizon))
  t.notOk(endsBefore({ kind: 'trend', block: blockOf('2025-10-26', TREND_BLOCK_DAYS) }, horizon), 'a block reaching the horizon stays')
  t.notOk(endsBefore({ kind: 'counts' }, horizon))
  t.notOk(endsBefore({ kind: 'asset', asset: 'api' }, horizon))
})
