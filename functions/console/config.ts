import { Type } from 'typebox'
import { ConfigSchema } from '../../shared/config.ts'
import { ISSUER_PATTERN } from '../mock-auth/endpoints.ts'

const { PORT, HOST, LOG_LEVEL, REQUEST_TIMEOUT_MS } = ConfigSchema.properties
const ORIGIN = { pattern: ISSUER_PATTERN }

/** Every setting the console reads. */
export const ConsoleConfigSchema = Type.Object({
  PORT, HOST, LOG_LEVEL, REQUEST_TIMEOUT_MS,
  CONSOLE_ORIGIN: Type.String({ ...ORIGIN, description: 'The origin people open the console at (the ingress\'s), such as https://records.example.com: its redirect URI is `<origin>/console/callback`, and a state-changing request must come from it (Origin header).' }),
  CONSOLE_API_URL: Type.String({ ...ORIGIN, description: 'Where the console calls the records API (`/v1/…`) with the person\'s token: the ingress.' }),
  CONSOLE_AUTH_ISSUER: Type.String({ ...ORIGIN, description: 'The authorization server people sign in at (its issuer); the browser is sent to `<issuer>/oauth2/authorize`.' }),
  CONSOLE_AUTH_URL: Type.Optional(Type.String({ ...ORIGIN, description: 'Where the console itself reaches the authorization server\'s token and revocation endpoints, when not at the issuer (a cluster-local address). Default: the issuer.' })),
  CONSOLE_CLIENT_ID: Type.String({ minLength: 1, maxLength: 128, default: 'local-console', description: 'The console\'s client id at the authorization server.' }),
  CONSOLE_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The console\'s client secret (client_secret_basic). Without it (or the cookie key) the console serves only a page saying it is not configured.' })),
  CONSOLE_COOKIE_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'The key that encrypts the session cookie: 32 random bytes, base64url (`openssl rand -base64 32 | tr +/ -_ | tr -d =`). Changing it signs everyone out.' }))
})

export const CONSOLE_SECRET_SETTINGS: ReadonlySet<string> = new Set(['CONSOLE_CLIENT_SECRET', 'CONSOLE_COOKIE_KEY'])
