import type { Problem } from './api-types.ts'

/** One answer of the records API, as the console reads it: `body` is `T` on success, a problem otherwise. */
export interface ApiAnswer<T = unknown> {
  status: number
  etag: string | undefined
  body: T
  requestId: string
}

export interface ApiCall {
  method?: 'GET' | 'POST' | 'PATCH'
  query?: URLSearchParams
  body?: string | Uint8Array
  contentType?: string
  ifMatch?: string
  /** The console's request id, so the API's logs and ours meet. */
  requestId: string
}

/** Calls the records API with the person's token: the console acts as them, never as itself. */
export function createRecordsClient (apiUrl: string) {
  return async function callApi<T = unknown> (accessToken: string, path: string, call: ApiCall): Promise<ApiAnswer<T>> {
    const url = new URL(path, apiUrl)
    if (call.query) url.search = call.query.toString()
    const response = await fetch(url, {
      method: call.method ?? 'GET',
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: 'application/json, application/problem+json',
        'x-request-id': call.requestId,
        ...(call.contentType ? { 'content-type': call.contentType } : {}),
        ...(call.ifMatch ? { 'if-match': call.ifMatch } : {})
      },
      ...(call.body === undefined ? {} : { body: call.body }),
      signal: AbortSignal.timeout(30_000)
    })
    const body = parseBody(await response.text())
    return { status: response.status, etag: response.headers.get('etag') ?? undefined, body: body as T, requestId: (body as Problem | null)?.requestId ?? response.headers.get('x-request-id') ?? call.requestId }
  }
}

export type CallApi = ReturnType<typeof createRecordsClient>

function parseBody (text: string): unknown {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return { detail: 'The API answered with something that is not JSON.' }
  }
}

/** A problem+json answer as a sentence a person can act on, with the request id to quote. */
export function problemSentence (answer: ApiAnswer): string {
  const problem = (answer.body ?? {}) as Problem
  const what = problem.detail ?? problem.title ?? `The API answered ${answer.status}.`
  const fields = (problem.errors ?? []).slice(0, 5).map((error) => `${error.path.replace(/^\//, '') || 'the request'} ${error.message}`)
  const sentence = `${what.replace(/\.?$/, '.')}${fields.length ? ` ${fields.join('; ')}.` : ''}`
  return `${sentence} (status ${answer.status}, request id ${answer.requestId})`
}
