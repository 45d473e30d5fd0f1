import { ConfigError } from '../../shared/config.ts'
import { startFunction, type FunctionDefinition } from '../../shared/server.ts'
import { buildConsoleApp } from './app.ts'
import { buildUnconfiguredConsole } from './unconfigured.ts'
import { CONSOLE_SECRET_SETTINGS, ConsoleConfigSchema } from './config.ts'
import { CONSOLE_FUNCTION } from './endpoints.ts'

/** console: the people's pages, a backend-for-frontend over the records API. */
export const definition: FunctionDefinition<typeof ConsoleConfigSchema> = {
  name: CONSOLE_FUNCTION,
  configSchema: ConsoleConfigSchema,
  secretSettings: CONSOLE_SECRET_SETTINGS,
  async build (config) {
    const unconfigured = { logLevel: config.LOG_LEVEL, requestTimeoutMs: config.REQUEST_TIMEOUT_MS }
    if (config.CONSOLE_CLIENT_SECRET === undefined || config.CONSOLE_COOKIE_KEY === undefined) {
      return await buildUnconfiguredConsole('its client secret and cookie key are not set (CONSOLE_CLIENT_SECRET and CONSOLE_COOKIE_KEY, the Secret security-records-console)', unconfigured)
    }
    const built = await buildConsoleApp({
      origin: config.CONSOLE_ORIGIN,
      apiUrl: config.CONSOLE_API_URL,
      issuer: config.CONSOLE_AUTH_ISSUER,
      ...(config.CONSOLE_AUTH_URL ? { authUrl: config.CONSOLE_AUTH_URL } : {}),
      clientId: config.CONSOLE_CLIENT_ID,
      clientSecret: config.CONSOLE_CLIENT_SECRET,
      cookieKey: Buffer.from(config.CONSOLE_COOKIE_KEY, 'base64url'),
      logger: { level: config.LOG_LEVEL },
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS
    }).catch((error: unknown) => {
      // A plain-http origin off loopback: nobody can be signed in safely there.
      if (error instanceof ConfigError) return error.message
      throw error
    })
    return typeof built === 'string' ? await buildUnconfiguredConsole(built, unconfigured) : built
  }
}

if (import.meta.main) await startFunction(definition)
