/**
 * `npm run build`: one self-contained ESM bundle per deployable unit, started with plain
 * `node dist/functions/<name>/index.mjs` — no node_modules at run time, so the runtime image
 * holds nothing but these files.
 *
 *   node scripts/build.ts [--outdir DIR] [--sourcemap] [--quiet]
 *
 * `--sourcemap` writes `index.mjs.map` beside each bundle, for `node --enable-source-maps` while
 * debugging; off by default (it triples the build time), and the image never holds them.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build, type BuildOptions, type Plugin } from 'esbuild'
import { functionNames } from '../functions/registry.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface BundleEntry {
  /** Where the bundle lands below the output folder, e.g. `functions/get-record`. */
  name: string
  entry: string
}

/**
 * Every function of the registry (`functions/<name>/index.ts`) and every deployed job
 * (`jobs/<name>/index.ts`: table bootstrap, outbox sweeper, the broker's dead-letter sink).
 */
export function bundleEntries (base = root): BundleEntry[] {
  const jobsDir = join(base, 'jobs')
  const jobs = readdirSync(jobsDir, { withFileTypes: true })
    .filter((dirent) => dirent.isDirectory() && existsSync(join(jobsDir, dirent.name, 'index.ts')))
    .map((dirent) => dirent.name)
  return [
    ...[...functionNames].sort().map((name) => ({ name: `functions/${name}`, entry: join(base, 'functions', name, 'index.ts') })),
    ...jobs.sort().map((name) => ({ name: `jobs/${name}`, entry: join(jobsDir, name, 'index.ts') }))
  ]
}

// Some dependencies are CommonJS and call require() for Node built-ins; an ESM bundle has no
// `require` of its own, so give it one (and the CJS path globals a few packages read).
const cjsShim = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  "import { dirname as __pathDirname } from 'node:path';",
  'const require = __createRequire(import.meta.url);',
  'const __filename = __fileURLToPath(import.meta.url);',
  'const __dirname = __pathDirname(__filename);'
].join('\n')

/**
 * Packages a function would carry and never run, each replaced by a stub that throws when called:
 * - light-my-request: Fastify's inject(), for tests; a deployed function never injects
 *   (tests run the sources, not the bundles).
 */
const leftOut: Record<string, string> = {
  'light-my-request': 'light-my-request is not bundled: inject() works on the sources, not on a deployed bundle'
}

const leaveOutUnused: Plugin = {
  name: 'leave-out-unused',
  setup (builder) {
    builder.onResolve({ filter: new RegExp(`^(${Object.keys(leftOut).join('|')})$`) }, (args) => ({ path: args.path, namespace: 'left-out' }))
    builder.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      contents: `module.exports = () => { throw new Error(${JSON.stringify(leftOut[args.path])}) }`,
      loader: 'js'
    }))
  }
}

/**
 * Built-ins a function never uses though its dependencies import them at the top: Fastify (for
 * its `http2: true` option) and the SDK's NodeHttp2Handler load node:http2, CPU spent at every
 * start (bench/README.md, Cold start). Their bundles get an object with the same exports that
 * loads the module on first access.
 */
const loadedOnFirstUse = new Set(['http2', 'node:http2'])

function builtinModule (specifier: string): string {
  if (!loadedOnFirstUse.has(specifier)) return `module.exports = require(${JSON.stringify(specifier)})`
  const names = Object.keys(process.getBuiltinModule(specifier) as object)
  return [
    'let loaded',
    `const load = () => (loaded ??= require(${JSON.stringify(specifier)}))`,
    `module.exports = Object.defineProperties({}, Object.fromEntries(${JSON.stringify(names)}.map((name) => [name, { enumerable: true, get: () => load()[name] }])))`
  ].join('\n')
}

/**
 * Node built-ins through the bundle's require() instead of ESM imports. An ESM import of a
 * built-in (static or `import()`) builds its facade by reading every export, and node:http's
 * `WebSocket` getters load undici on the way, at start (the SDK's ES modules import node:http and
 * node:https; bench/README.md, Cold start).
 */
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup (builder) {
    builder.onResolve({ filter: /^[a-z:_/0-9]+$/ }, (args) =>
      (args.kind === 'import-statement' || args.kind === 'dynamic-import' || loadedOnFirstUse.has(args.path)) && isBuiltin(args.path) ? { path: args.path, namespace: 'builtin' } : undefined)
    builder.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: builtinModule(args.path), loader: 'js' }))
  }
}

const sharedOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The ES module build of a package where it ships one (the AWS SDK does: dist-es beside dist-cjs):
  // esbuild can drop what an ES module exports and nothing imports, never from CommonJS. Node's
  // default order (main first) took the SDK's CommonJS: more code per function, all of it parsed at start.
  mainFields: ['module', 'main'],
  target: 'node24',
  minify: true,
  legalComments: 'none',
  banner: { js: cjsShim },
  logLevel: 'warning',
  metafile: true,
  plugins: [leaveOutUnused, builtinsThroughRequire]
}

export interface BuiltBundle { name: string, file: string, bytes: number }

export async function buildAll ({ outdir = join(root, 'dist'), entries = bundleEntries(), sourcemap = false } = {}): Promise<BuiltBundle[]> {
  for (const entry of entries) rmSync(join(outdir, entry.name), { recursive: true, force: true })
  return Promise.all(entries.map(async (entry) => {
    const file = join(outdir, entry.name, 'index.mjs')
    const { metafile } = await build({ ...sharedOptions, sourcemap: sourcemap ? 'linked' : false, entryPoints: [entry.entry], outfile: file })
    // The runtime image has no node_modules: anything left outside the bundle must be a Node built-in.
    const outside = Object.values(metafile?.outputs ?? {}).flatMap((output) => output.imports)
      .filter((imported) => imported.external && !isBuiltin(imported.path)).map((imported) => imported.path)
    if (outside.length > 0) throw new Error(`${entry.name}: the bundle would need ${[...new Set(outside)].join(', ')} at run time`)
    return { name: entry.name, file, bytes: statSync(file).size }
  }))
}

const formatSize = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(6)} KiB`

if (import.meta.main) {
  const { values } = parseArgs({
    options: { outdir: { type: 'string' }, sourcemap: { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false } }
  })
  const started = performance.now()
  const bundles = await buildAll({ outdir: resolve(values.outdir ?? join(root, 'dist')), sourcemap: values.sourcemap })
  if (!values.quiet) {
    for (const bundle of bundles) console.log(`${formatSize(bundle.bytes)}  ${relative(process.cwd(), bundle.file)}`)
    console.log(`built ${bundles.length} bundles in ${Math.round(performance.now() - started)} ms`)
  }
}
