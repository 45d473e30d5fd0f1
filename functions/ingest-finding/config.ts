import { Type } from 'typebox'
import { ConfigSchema } from '../../shared/config.ts'

/** The trigger's OIDC identity: Knative names it `<trigger>-oidc-<group>-<kind>` (knative/eventing pkg/auth, `GetOIDCServiceAccountNameForResource`). */
export const TRIGGER_SUBJECT = 'system:serviceaccount:security-records:ingest-finding-oidc-eventing.knative.dev-trigger'
/** The audience of the findings Trigger's deliveries: its subscriber's (Knative's default for a Service). */
export const INGEST_DELIVERY_AUDIENCE = 'serving.knative.dev/service/security-records/ingest-finding'

/**
 * ingest-finding's settings: those of a record function except the cursor key (it lists nothing)
 * — access tokens for `POST /v1/findings` and `POST /events/findings` — and the sender identity
 * of broker deliveries on `POST /` (Knative Eventing `authentication-oidc`).
 */
export const IngestConfigSchema = Type.Object({
  ...Type.Omit(ConfigSchema, ['CURSOR_SECRET']).properties,
  DELIVERY_OIDC_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'ingest-finding: issuer of the OIDC tokens Knative Eventing sends with broker deliveries (the cluster\'s service account issuer). Unset: broker deliveries are refused (401).' })),
  DELIVERY_OIDC_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'ingest-finding: where that issuer publishes its keys (`<issuer>/openid/v1/jwks` on the API server, or the cloud\'s OIDC endpoint).' })),
  DELIVERY_OIDC_CA_FILE: Type.Optional(Type.String({ minLength: 1, description: 'ingest-finding: the CA certificates (PEM file) the JWKS endpoint\'s certificate must chain to, for this fetch only (the cluster CA, `kube-root-ca.crt`, where the API server publishes the keys); every other call keeps Node\'s CAs and NODE_EXTRA_CA_CERTS.' })),
  DELIVERY_OIDC_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1, description: 'ingest-finding: a bearer token (file) sent with the JWKS fetch: a projected service account token where the API server publishes the keys, which it serves to service accounts (system:service-account-issuer-discovery). Read at each fetch.' })),
  DELIVERY_OIDC_AUDIENCE: Type.String({ minLength: 1, default: INGEST_DELIVERY_AUDIENCE, description: 'ingest-finding: the audience broker deliveries must carry (the Trigger\'s `subscriber.audience`).' }),
  DELIVERY_OIDC_SUBJECTS: Type.String({ minLength: 1, default: TRIGGER_SUBJECT, description: 'ingest-finding: comma-separated `sub`s allowed to deliver (the findings Trigger\'s OIDC service account).' })
})
