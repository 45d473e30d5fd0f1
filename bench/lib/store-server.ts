/**
 * The benchmark's store: an in-memory dynalite in a process of its own, so the function under
 * test and the harness's direct SDK calls meet the same server and neither pays for the other's
 * CPU. Prints `{"endpoint": "..."}` once listening; exits when its parent goes away.
 */
import type { AddressInfo } from 'node:net'
import dynalite from 'dynalite'

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
process.stdout.write(`${JSON.stringify({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`)
const stop = () => server.close(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdin.on('end', stop).resume()
