/**
 * The cold-start baseline: a bare node:http server answering `GET /healthz` the way a function
 * does (200, JSON, no-store), with nothing else loaded. Plain JavaScript, like the bundles, so
 * neither pays for type stripping. Reads PORT and HOST.
 */
import { createServer } from 'node:http'

const body = JSON.stringify({ status: 'ok' })
createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body)
  } else {
    response.writeHead(404).end()
  }
}).listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
process.once('SIGTERM', () => process.exit(0))
