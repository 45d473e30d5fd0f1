import t from 'tap'
import { retryingWriters } from './concurrency-scenarios.ts'

// `npm run test:resilience`: the full 50 retrying writers (concurrency.test.ts runs 20).
t.test('50 concurrent read-modify-write PATCHes retrying on 412: every change applied, version 51, 51 history entries (1 created + 50 updated)', (t) => retryingWriters(t, 50))
