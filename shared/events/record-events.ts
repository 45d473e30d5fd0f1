import { readFile } from 'node:fs/promises'
import { CloudEvent, HTTP } from 'cloudevents'
import type { ChangeAction, RecordChange } from '../records/change.ts'

/** CloudEvent types of record changes (README "History and events"). */
export const recordEventTypes: Record<ChangeAction, string> = {
  created: 'com.mediamarktsaturn.security.record.created',
  updated: 'com.mediamarktsaturn.security.record.updated',
  deleted: 'com.mediamarktsaturn.security.record.deleted'
}

/**
 * The CloudEvent of one committed change. Its id is derived from the record and version, so a
 * redelivery (at-least-once) carries the same id and a consumer can drop the duplicate.
 */
export function recordChangeEvent (tenant: string, recordId: string, change: RecordChange, data: unknown): CloudEvent<unknown> {
  return new CloudEvent({
    specversion: '1.0',
    id: `${recordId}/${change.version}`,
    type: recordEventTypes[change.action],
    source: `/tenants/${tenant}/records`,
    subject: recordId,
    time: change.at,
    datacontenttype: 'application/json',
    tenant,
    data
  }, true)
}

export interface EventSink {
  readonly enabled: boolean
  deliver (event: CloudEvent<unknown>): Promise<void>
}

/**
 * Delivers CloudEvents in HTTP binary mode to K_SINK (what a Knative SinkBinding injects), with
 * the OIDC token of K_SINK_TOKEN_FILE when the broker requires one. Without a sink, events are not
 * produced at all.
 */
export function createEventSink (sinkUrl: string | undefined, { timeoutMs = 2000, tokenFile }: { timeoutMs?: number, tokenFile?: string | undefined } = {}): EventSink {
  if (!sinkUrl) return { enabled: false, async deliver () {} }
  return {
    enabled: true,
    async deliver (event) {
      const { headers, body } = HTTP.binary(event)
      // Knative sender identity: the kubelet rotates a projected token, so it is read each time.
      const authorization = tokenFile ? { authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` } : {}
      const response = await fetch(sinkUrl, {
        method: 'POST',
        headers: { ...headers as Record<string, string>, ...authorization },
        body: body as string,
        signal: AbortSignal.timeout(timeoutMs)
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`event sink answered ${response.status}`)
    }
  }
}
