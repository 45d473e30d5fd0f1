import type { FastifyReply } from 'fastify'
import { createBaseApp, loggerOptions, type BaseApp } from '../../shared/http/base-app.ts'
import { html } from '../../shared/html/html.ts'
import { CONSOLE_CSP } from './app.ts'

/**
 * The console where it cannot sign anyone in: its Secret is missing, or its origin is plain http
 * off loopback (no `__Host-`/Secure cookie could be set). It stays Ready, so a deploy that has not
 * set the console up yet does not wait on it, and answers every page with a 503 saying why; no
 * cookie is ever set, no API is called. The reason is logged once at start.
 */
export async function buildUnconfiguredConsole (reason: string, options: { logLevel: string, requestTimeoutMs: number }): Promise<BaseApp> {
  const app = await createBaseApp({
    logger: loggerOptions(options.logLevel),
    bodyLimit: 1024,
    requestTimeoutMs: options.requestTimeoutMs,
    headers: { 'content-security-policy': CONSOLE_CSP, 'referrer-policy': 'same-origin' }
  })
  app.log.warn({ reason }, 'console not configured: every page answers 503')
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console not configured</title></head>
<body><h1>The console is not configured</h1><p>${reason}.</p><p>The records API is not affected.</p></body></html>`
  const unavailable = async (_request: unknown, reply: FastifyReply) =>
    reply.code(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(String(page))
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
  app.all('/console', unavailable)
  app.all('/console/*', unavailable)
  return app
}
