/**
 * `npm start`: the whole system on one machine. Settings: PORT (8080), HOST (127.0.0.1),
 * DATA_DIR (./.data, or `:memory:`), DYNAMODB_ENDPOINT, K_SINK, LOG_LEVEL.
 */
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts'

const port = Number(process.env.PORT ?? 8080)
const host = process.env.HOST ?? '127.0.0.1'
const dataDir = process.env.DATA_DIR ?? '.data'

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (got ${process.env.PORT})`)
  process.exit(1)
}

/** One line, then exit: nothing was started, or everything started was closed. */
function refuseToStart (error: unknown): never {
  console.error(`security-records could not start: ${(error as Error).message}`)
  process.exit(1)
}

// Before loading every function (seconds on a busy machine): a second stack on this DATA_DIR exits at once.
let lock: DataDirLock | undefined
if (dataDir !== ':memory:') lock = await lockDataDir(dataDir).catch(refuseToStart)

const [{ closeOnSignals }, { startLocalStack }] = await Promise.all([import('../shared/server.ts'), import('./stack.ts')])
let stack
try {
  stack = await startLocalStack({
    port,
    host,
    dataDir,
    ...(process.env.DYNAMODB_ENDPOINT ? { dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT } : {}),
    ...(process.env.K_SINK ? { sinkUrl: process.env.K_SINK } : {}),
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    seedExamples: true
  })
} catch (error) {
  await lock?.release()
  refuseToStart(error)
}

const { url } = stack
console.log(`
security-records is listening on ${url}
  store:    ${process.env.DYNAMODB_ENDPOINT ?? (dataDir === ':memory:' ? 'embedded dynalite (in memory)' : `embedded dynalite, data in ${dataDir}/`)}
  health:   ${url}/healthz
  console:  ${url}/console (sign in as local-triager / local-triager-password, or local-viewer / local-viewer-password to read only)
  docs:     ${url}/docs (Swagger UI: Authorize, then try every operation: its example ids name a record and an import seeded for them), OpenAPI at ${url}/openapi.json

Get a token for local-admin:
  curl -s -u local-admin:local-admin-secret -d grant_type=client_credentials ${url}/oauth2/token

Then call the API with it:
  TOKEN=$(curl -s -u local-admin:local-admin-secret -d grant_type=client_credentials ${url}/oauth2/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -H "Authorization: Bearer $TOKEN" ${url}/v1/records
`)

const running = stack
closeOnSignals({
  close: async () => {
    await running.close()
    await lock?.release()
  },
  log: { info: (message: string) => console.log(message) }
}, 'security-records')
