/**
 * Prints the scrypt hash of a client secret, for the `client_secret_hash` of a registered client
 * (functions/mock-auth). The secret is read from stdin, so it stays out of shell history:
 *
 *   printf %s "$SECRET" | node scripts/hash-client-secret.ts
 *   node scripts/hash-client-secret.ts --generate    # makes a random secret, prints it and its hash
 *   node scripts/hash-client-secret.ts <secret>      # convenient for throwaway local secrets
 */
import { randomBytes } from 'node:crypto'
import { text } from 'node:stream/consumers'
import { hashClientSecret } from '../functions/mock-auth/client-secret.ts'

const argument = process.argv[2]
let secret: string
if (argument === '--generate') {
  secret = randomBytes(32).toString('base64url')
  console.error(`client_secret: ${secret}`)
} else if (argument !== undefined && argument !== '-') {
  secret = argument
} else {
  if (process.stdin.isTTY) console.error('type the secret, then Ctrl-D')
  // One trailing newline is the shell's, not the secret's.
  secret = (await text(process.stdin)).replace(/\r?\n$/, '')
}
if (secret.length === 0) {
  console.error('hash-client-secret: the secret is empty')
  process.exit(1)
}
console.log(await hashClientSecret(secret))
