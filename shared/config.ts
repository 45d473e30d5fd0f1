import { Type, type Static, type TObject } from 'typebox'
import { Value } from 'typebox/value'

/**
 * Every setting a function reads, as one TypeBox schema: the README's configuration
 * reference is generated from it. Names are the environment variables.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port the function listens on (Knative injects it).' }),
  HOST: Type.String({ default: '0.0.0.0', description: 'Interface to listen on.' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'Pino log level.' }),
  TABLE_NAME: Type.String({ minLength: 3, maxLength: 255, pattern: '^[a-zA-Z0-9_.-]+$', default: 'security-records', description: 'DynamoDB table holding records, guards, idempotency keys and revoked tokens.' }),
  DYNAMODB_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'DynamoDB-compatible endpoint (Alternator, DynamoDB Local, dynalite). Unset on AWS.' })),
  AWS_REGION: Type.String({ minLength: 1, default: 'eu-central-1', description: 'AWS region of the table (any value for Alternator and local stores).' }),
  STORE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 3000, description: 'Per-attempt timeout of a store request; a dead store answers 503 within a few of these.' }),
  STORE_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 10, default: 3, description: 'Attempts per store request (SDK retry with backoff and jitter).' }),
  AUTH_ISSUER: Type.String({ minLength: 1, description: 'Exact `iss` of accepted access tokens.' }),
  AUTH_JWKS_URL: Type.String({ pattern: '^https?://', description: 'Where the issuer publishes its signing keys (never taken from a token). Must answer 200 itself: a redirect is not followed, and a key set over 256 KiB is refused.' }),
  AUTH_JWKS_JSON: Type.Optional(Type.String({ minLength: 2, maxLength: 65536, description: 'The issuer\'s public keys inline (a JWK set); when set, AUTH_JWKS_URL is never fetched. knative/deploy.sh sets it to mock-auth\'s public keys, so a function\'s first request never waits for a mock-auth that scaled to zero. Rotate by deploying again.' })),
  AUTH_AUDIENCE: Type.String({ minLength: 1, default: 'security-records-api', description: 'Audience every access token must carry.' }),
  AUTH_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 30, description: 'Clock skew tolerated on `exp`/`nbf`/`iat`.' }),
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 3600, description: 'Longest access-token lifetime (`exp - iat`) accepted, even with a genuine signature.' }),
  REVOCATION_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 5000, description: 'How long a token\'s "not revoked" answer is cached (the longest a revoked token can still pass).' }),
  CURSOR_SECRET: Type.String({ minLength: 32, description: 'HMAC key signing list cursors (at least 32 characters).' }),
  RATE_LIMIT: Type.Enum(['on', 'off'], { default: 'on', description: 'Per-client rate limiting and per-tenant concurrency (429 + Retry-After); `off` for benchmarks and load tests.' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 1200, description: 'Requests per minute one OAuth client (`client_id`) may make to one function instance.' }),
  TENANT_REQUESTS_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 10000, default: 16, description: 'Requests one tenant may have running at once in one function instance (with RATE_LIMIT on); more wait for its own.' }),
  TENANT_REQUESTS_QUEUED: Type.Integer({ minimum: 0, maximum: 100000, default: 64, description: 'Requests of one tenant that may wait for a running one in one function instance; past that a 429 + Retry-After.' }),
  IMPORT_RESULTS_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 64, default: 16, description: 'Results of distinct fingerprints one import applies at once (each a few store calls) in an import-report instance.' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 300000, default: 30000, description: 'Time a client has to send a whole request; slower senders get 408.' }),
  K_SINK: Type.Optional(Type.String({ pattern: '^https?://', description: 'CloudEvents sink (injected by a Knative SinkBinding).' })),
  K_SINK_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1, description: 'A file holding the OIDC token the sink requires (a broker with Knative `authentication-oidc`: a projected service account token for the broker\'s audience); read on every delivery, so a rotated token is used.' }))
})

export type Config = Static<typeof ConfigSchema>

/** Settings that are secrets: never logged, never echoed in an error. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['CURSOR_SECRET'])

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads the configuration once, at start-up, and fails fast with every problem named.
 * Numbers arrive as strings from the environment; Value.Convert turns them into numbers.
 */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  return loadSettings(ConfigSchema, env, SECRET_SETTINGS)
}

/** Reads the settings of any schema from the environment; secret values are never echoed in the error. */
export function loadSettings<T extends TObject> (schema: T, env: Record<string, string | undefined>, secretSettings: ReadonlySet<string> = new Set()): Static<T> {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const candidate = Value.Convert(schema, Value.Default(schema, raw))
  if (Value.Check(schema, candidate)) return candidate as Static<T>
  const problems = [...Value.Errors(schema, candidate)].map((error) => {
    const name = error.instancePath.replace(/^\//, '') || String((error.params as { requiredProperties?: string[] }).requiredProperties ?? '')
    const missing = error.keyword === 'required'
    const shown = secretSettings.has(name) || missing ? '' : ` (got ${JSON.stringify((candidate as Record<string, unknown>)[name])})`
    return `${name}: ${error.message}${shown}`
  })
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
}
