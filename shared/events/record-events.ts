import { readFile } from 'node:fs/promises'
import { CloudEvent, HTTP } from 'cloudevents'
import { send } from '../http/outbound.ts'
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
      const { headers, body } = HTTP.binary(event)
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
