/** Runs the peer baseline as its own process: PORT, DYNAMODB_ENDPOINT, TABLE_NAME, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL. */
import { createStore } from '../../shared/store/client.ts'
import { buildPeerApp, PEER_TABLE } from './peer-app.ts'

const env = process.env
const store = createStore({ DYNAMODB_ENDPOINT: env.DYNAMODB_ENDPOINT!, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 30_000, STORE_MAX_ATTEMPTS: 3, TABLE_NAME: env.TABLE_NAME ?? PEER_TABLE }, {})
const app = await buildPeerApp({ store, issuer: env.AUTH_ISSUER!, audience: env.AUTH_AUDIENCE!, jwksUrl: env.AUTH_JWKS_URL! })
await app.listen({ port: Number(env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
