import { readFile } from 'node:fs/promises'
import type { CloudEventV1 } from 'cloudevents'
import { send } from '../outbound.ts'
import type { ChangeAction, RecordChange } from '../records/change.ts'

/** CloudEvent types of record changes (README "History and events"). */
export const recordEventTypes: Record<ChangeAction, string> = {
  created: 'com.mediamarktsaturn.security.record.created',
  updated: 'com.mediamarktsaturn.security.record.updated',
  deleted: 'com.mediamarktsaturn.security.record.deleted'
}

/**
 * The cloudevents package, loaded at the first delivery rather than at start: with its spec
 * validation it costs a function ~35 ms of loading, and only a function with a sink (K_SINK) ever
 * delivers. The record functions of the local stack and the bench have none.
 */
let cloudEvents: Promise<typeof import('cloudevents')> | undefined
const loadCloudEvents = () => (cloudEvents ??= import('cloudevents'))

/**
 * The CloudEvent of one committed change (its attributes; the sink checks them against the spec
 * when it sends). Its id is derived from the record and version, so a redelivery (at-least-once)
 * carries the same id and a consumer can drop the duplicate.
 */
export function recordChangeEvent (tenant: string, recordId: string, change: RecordChange, data: unknown): CloudEventV1<unknown> {
  return {
    specversion: '1.0',
    id: `${recordId}/${change.version}`,
    type: recordEventTypes[change.action],
    source: `/tenants/${tenant}/records`,
    subject: recordId,
    time: change.at,
    datacontenttype: 'application/json',
    tenant,
    data
  }
}

export interface EventSink {
  readonly enabled: boolean
  deliver (event: CloudEventV1<unknown>): Promise<void>
}

/**
 * Where a Knative SinkBinding puts the sender-identity token of its bound pods when Knative Eventing
 * runs with `authentication-oidc` (knative.dev/eventing v0.45.0, pkg/apis/sources/v1/sinkbinding_lifecycle.go:
 * the binding's token Secret, projected at /oidc). The broker's ingress then refuses a post without it.
 */
export const SINK_BINDING_TOKEN_FILE = '/oidc/token'

/** The current token, read on every delivery (Knative renews the Secret before it expires); none without the feature. */
async function senderToken (tokenFile: string): Promise<string | undefined> {
  try {
    return (await readFile(tokenFile, 'utf8')).trim() || undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Delivers CloudEvents in HTTP binary mode to K_SINK (what a Knative SinkBinding injects), with the
 * binding's sender-identity token when Knative projected one. Without a sink, events are not produced at all.
 */
export function createEventSink (sinkUrl: string | undefined, { timeoutMs = 2000, tokenFile = SINK_BINDING_TOKEN_FILE } = {}): EventSink {
  if (!sinkUrl) return { enabled: false, async deliver () {} }
  return {
    enabled: true,
    async deliver (event) {
      const { CloudEvent, HTTP } = await loadCloudEvents()
      // Strict: an event the spec does not allow fails here, before it is sent.
      const { headers, body } = HTTP.binary(new CloudEvent(event, true))
      const token = await senderToken(tokenFile)
      const response = await send(sinkUrl, {
        method: 'POST',
        headers: { ...headers as Record<string, string>, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body as string,
        timeoutMs
      })
      if (response.status < 200 || response.status > 299) throw new Error(`event sink answered ${response.status}`)
    }
  }
}
