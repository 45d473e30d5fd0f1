/**
 * Fills Node's compile cache (V8 code cache on disk) for every function bundle under a dist
 * folder, so a function started later with `NODE_COMPILE_CACHE=<dir>` skips compiling its bundle's
 * top level, a good part of a cold start and of its peak RSS (bench/README.md).
 *
 *   node scripts/fill-compile-cache.ts DIST CACHE_DIR
 *
 * The image runs this in a stage on its runtime base (the cache is only valid for the very Node
 * binary and paths that made it), and the benchmark runs it on its own bundles the same way.
 * Importing a bundle only evaluates it: a function starts only as the main module.
 */
import { chmodSync, existsSync, readdirSync } from 'node:fs'
import { enableCompileCache, flushCompileCache } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

export function functionBundles (dist: string): string[] {
  const folders = [join(dist, 'main'), ...readdirSync(join(dist, 'functions')).map((name) => join(dist, 'functions', name))]
  return folders.map((folder) => join(folder, 'index.mjs')).filter((file) => existsSync(file))
}

/** Owner-only files would be unreadable to the image's non-root user: read access for all. */
function readableByAll (path: string): void {
  chmodSync(path, 0o755)
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name)
    if (entry.isDirectory()) readableByAll(child)
    else chmodSync(child, 0o644)
  }
}

if (import.meta.main) {
  const [dist, cacheDir] = process.argv.slice(2).map((path) => resolve(path))
  if (!dist || !cacheDir) throw new Error('usage: node scripts/fill-compile-cache.ts DIST CACHE_DIR')
  const enabled = enableCompileCache(cacheDir)
  if (enabled.directory === undefined) throw new Error(`compile cache not enabled: ${enabled.message ?? `status ${enabled.status}`}`)
  const bundles = functionBundles(dist)
  for (const bundle of bundles) await import(pathToFileURL(bundle).href)
  flushCompileCache()
  readableByAll(cacheDir)
  console.log(`compile cache for ${bundles.length} bundles in ${cacheDir}`)
}
