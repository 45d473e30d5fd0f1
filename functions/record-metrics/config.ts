import { Type } from 'typebox'
import { ConfigSchema } from '../../shared/config.ts'

/** The trigger's OIDC identity: Knative names it `<trigger>-oidc-<group>-<kind>` (knative/eventing pkg/auth). */
/** The audience of the Trigger's deliveries (its `subscriber.audience`): the Service's. */
export const METRICS_DELIVERY_AUDIENCE = 'serving.knative.dev/service/security-records/record-metrics'

export const METRICS_TRIGGER_SUBJECT = 'system:serviceaccount:security-records:record-metrics-oidc-eventing.knative.dev-trigger'

/**
 * record-metrics' settings: a record function's but the cursor key (it lists nothing), the sender
 * identity of broker deliveries on `POST /` (as ingest-finding's), and which tenants' counters
 * `/metrics` exposes to Prometheus.
 */
export const MetricsConfigSchema = Type.Object({
  ...Type.Omit(ConfigSchema, ['CURSOR_SECRET']).properties,
  DELIVERY_OIDC_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'record-metrics: issuer of the OIDC tokens Knative Eventing sends with broker deliveries. Unset: broker deliveries are refused (401).' })),
  DELIVERY_OIDC_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'record-metrics: where that issuer publishes its keys.' })),
  DELIVERY_OIDC_CA_FILE: Type.Optional(Type.String({ minLength: 1, description: 'record-metrics: the CA certificates (PEM file) of the JWKS endpoint.' })),
  DELIVERY_OIDC_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1, description: 'record-metrics: a bearer token (file) sent with the JWKS fetch.' })),
  DELIVERY_OIDC_AUDIENCE: Type.String({ minLength: 1, default: METRICS_DELIVERY_AUDIENCE, description: 'record-metrics: the audience broker deliveries must carry (the Trigger\'s `subscriber.audience`).' }),
  DELIVERY_OIDC_SUBJECTS: Type.String({ minLength: 1, default: METRICS_TRIGGER_SUBJECT, description: 'record-metrics: comma-separated `sub`s allowed to deliver (the record events Trigger\'s OIDC service account).' }),
  METRICS_DELIVERIES: Type.Enum(['on', 'paused'], { default: 'on', description: 'record-metrics: `paused` answers every broker delivery 503 (redelivered later), while rebuild-metrics rewrites counters with METRICS_RESET=on.' }),
  METRICS_PROMETHEUS_TENANTS: Type.String({ default: '', pattern: '^([A-Za-z0-9][A-Za-z0-9_.-]{0,63}(,[A-Za-z0-9][A-Za-z0-9_.-]{0,63})*)?$', description: 'record-metrics: comma-separated tenants whose counters `/metrics` exposes to Prometheus (opt-in; empty: none, only process metrics).' })
})
