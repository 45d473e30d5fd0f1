import autocannon from 'autocannon'

/** One HTTP operation as the load generator sends it; `prepare` varies a request per call. */
export interface HttpOperation {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  headers: Record<string, string>
  body?: string
  expect: number
  /** Per-request setup (PATCH: which record, which If-Match); returns a release callback for its response. */
  prepare?: () => { path: string, headers: Record<string, string>, body?: string, done (status: number): void }
}

export interface LoadResult {
  perSecond: number
  completed: number
  non2xx: number
  errors: number
  p50: number
  p99: number
}

/** Throughput at a fixed concurrency with autocannon (keep-alive, no pipelining). */
export async function measureLoad (base: string, operation: HttpOperation, connections: number, durationSeconds: number): Promise<LoadResult> {
  const request: autocannon.Request = {
    method: operation.method,
    path: operation.path,
    headers: operation.headers,
    ...(operation.body === undefined ? {} : { body: operation.body })
  }
  if (operation.prepare) {
    const prepare = operation.prepare
    request.setupRequest = (req, context) => {
      const next = prepare()
      ;(context as { done?: (status: number) => void }).done = next.done
      return { ...req, path: next.path, headers: { ...operation.headers, ...next.headers }, ...(next.body === undefined ? {} : { body: next.body }) }
    }
    request.onResponse = (status, _body, context) => { (context as { done?: (status: number) => void }).done?.(status) }
  }
  const result = await autocannon({ url: base, connections, duration: durationSeconds, pipelining: 1, timeout: 30, requests: [request] })
  const expected = (result as unknown as Record<string, number>)[`${Math.floor(operation.expect / 100)}xx`] ?? 0
  return {
    perSecond: expected / (result.duration || durationSeconds),
    completed: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99
  }
}
