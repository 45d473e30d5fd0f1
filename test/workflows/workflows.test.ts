import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { validateWorkflow } from '@action-validator/core'
import t from 'tap'
import { parse } from 'yaml'

// GitHub's parser imports its JSON schema without an import attribute, which Node's ESM loader
// refuses; supply the attribute for JSON files (this test process only).
registerHooks({
  load (url, context, nextLoad) {
    return nextLoad(url, url.endsWith('.json') ? { ...context, importAttributes: { ...context.importAttributes, type: 'json' } } : context)
  }
})
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser')

const root = new URL('../../', import.meta.url).pathname
const workflowsDir = join(root, '.github/workflows')
const files = readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file)).sort()
const source = Object.fromEntries(files.map((file) => [file, readFileSync(join(workflowsDir, file), 'utf8')]))
const workflow = Object.fromEntries(files.map((file) => [file, parse(source[file]!)])) as Record<string, any>
const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8')

interface Step { uses?: string, run?: string, with?: Record<string, unknown>, name?: string, if?: string }
const steps = (file: string): Step[] => Object.values(workflow[file].jobs as Record<string, { steps?: Step[] }>).flatMap((job) => job.steps ?? [])
const runs = (file: string) => steps(file).map((step) => step.run ?? '').join('\n')
const uses = (file: string) => steps(file).map((step) => step.uses).filter((ref): ref is string => ref !== undefined)

t.same(files, ['ci.yml', 'deploy.yml', 'e2e.yml'], 'the three workflows')

for (const file of files) {
  t.test(`${file} is a valid workflow`, async (t) => {
    const checked = validateWorkflow(source[file]!)
    t.same(checked.errors, [], 'action-validator (the workflow JSON schema)')

    const parsed = parseWorkflow({ name: file, content: source[file]! }, new NoOperationTraceWriter())
    t.same(parsed.context.errors.getErrors().map((error) => error.message), [], "GitHub's workflow parser (expressions and contexts included)")
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!)
    t.same((template.errors ?? []).map((error) => error.Message), [], 'converts to a workflow template')

    // A tag can be moved to other code; a full commit SHA cannot. The comment
    // names the release that commit is, for readers and for update tools.
    const pinned = [...source[file]!.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)]
    t.equal(pinned.length, uses(file).length, 'every uses: line is seen')
    for (const [, ref, comment] of pinned) {
      t.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${ref} is pinned to a full commit SHA`)
      t.match(comment, /^ # v\d+(\.\d+){1,2}$/, `${ref} names its release in a comment (${comment})`)
    }
    for (const [name, job] of Object.entries(workflow[file].jobs as Record<string, { 'timeout-minutes'?: number }>)) {
      t.ok(job['timeout-minutes'], `job ${name} has a timeout`)
    }
    t.ok(workflow[file].permissions, 'token permissions are declared, least privilege by default')
  })

  t.test(`${file}: every run block is valid bash`, async (t) => {
    for (const step of steps(file).filter((candidate) => candidate.run)) {
      // Expressions are substituted before the shell sees the script.
      const script = step.run!.replace(/\$\{\{[^}]*\}\}/g, 'EXPR')
      const result = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' })
      t.equal(result.status, 0, `${step.name ?? step.run!.split('\n')[0]}: ${result.stderr}`)
    }
  })
}

t.test('ci.yml runs on pull requests and pushes: Node 24, tests on dynalite and DynamoDB Local, bundles, image, manifests, audit', async (t) => {
  const ci = workflow['ci.yml']
  t.ok('pull_request' in ci.on && 'push' in ci.on)
  t.ok(steps('ci.yml').some((step) => step.uses?.startsWith('actions/setup-node@') && String(step.with?.['node-version']) === '24'), 'Node 24')
  t.ok(steps('ci.yml').some((step) => step.uses?.startsWith('actions/setup-java@') && String(step.with?.['java-version']) === '17'), 'Java 17 for DynamoDB Local')
  for (const command of ['npm ci', 'npm run typecheck', 'npm run lint', 'npx tap', 'npm run test:dynamodb-local', 'npm run build', 'npm audit --omit=dev', 'kubectl kustomize', 'generate-ingress.ts --check']) {
    t.ok(runs('ci.yml').includes(command), `runs ${command}`)
  }
  t.ok(uses('ci.yml').some((ref) => ref.startsWith('docker/build-push-action@')), 'builds the image')
  t.match(runs('ci.yml'), /--read-only --cap-drop ALL --user 65532/, 'runs the image as the cluster does')
})

t.test('deploy.yml pushes the commit\'s image to GHCR and deploys the chosen overlay, then smoke-tests it', async (t) => {
  const deploy = workflow['deploy.yml']
  t.same(deploy.on.push.branches, ['main'])
  t.same(deploy.on.workflow_dispatch.inputs.cloud.options, ['eks', 'gke', 'aks'])
  t.same(deploy.jobs.image.permissions, { contents: 'read', packages: 'write' })
  t.equal(deploy.jobs.deploy.permissions['id-token'], 'write', 'logs in to the cloud with OIDC, no stored keys')
  t.match(runs('deploy.yml'), /name="ghcr\.io\/\$\{GITHUB_REPOSITORY,,\}"/, 'pushes to the repository\'s GHCR name')
  t.match(runs('deploy.yml'), /echo "\$name:\$sha"/, 'tags the image with the commit SHA')
  t.match(runs('deploy.yml'), /knative\/deploy\.sh "\$CLOUD" --image "\$IMAGE"/, 'deploys with knative/deploy.sh (which waits until every function is Ready)')
  t.match(runs('deploy.yml'), /node scripts\/smoke-test\.ts/)
  for (const cloud of ['eks', 'gke', 'aks']) {
    const overlay = parse(readFileSync(join(root, `knative/overlays/${cloud}/kustomization.yaml`), 'utf8'))
    t.equal(overlay.images[0].newName, deploy.env.OVERLAY_IMAGE, `the ${cloud} overlay's image is the one the workflow pushes`)
  }
  const referenced = new Set([...source['deploy.yml']!.matchAll(/\b(secrets|vars)\.([A-Z_]+)/g)].map((match) => match[2]!))
  referenced.delete('GITHUB_TOKEN')
  for (const name of referenced) t.ok(docs.includes(name), `${name} is documented in docs/deployment.md`)
})

t.test('e2e.yml deploys the kind overlay on a kind cluster with pinned Knative, net-istio and Scylla Operator', async (t) => {
  const e2e = workflow['e2e.yml']
  for (const name of ['KNATIVE_VERSION', 'SCYLLA_OPERATOR_VERSION']) {
    t.match(e2e.env[name], /v\d+\.\d+\.\d+$/, `${name} is a pinned version`)
  }
  t.match(e2e.env.KIND_NODE_IMAGE, /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/, 'the kind node image is pinned by digest')
  t.ok(uses('e2e.yml').some((ref) => ref.startsWith('helm/kind-action@')))
  for (const command of ['kind load docker-image', 'net-istio/releases/download', 'kubectl apply --server-side --force-conflicts -k knative/cluster/istio', 'knative/deploy.sh kind', 'knative/kn-deploy.sh kind', 'node scripts/smoke-test.ts']) {
    t.ok(runs('e2e.yml').includes(command), `runs ${command}`)
  }
  t.match(docs, new RegExp(`KNATIVE_VERSION=${e2e.env.KNATIVE_VERSION}`), 'the guide installs the versions e2e tests')
  t.match(docs, new RegExp(`SCYLLA_OPERATOR_VERSION=${e2e.env.SCYLLA_OPERATOR_VERSION}`))
})


t.test('e2e.yml applies remote manifests only after checking each against a sha256 pinned in the workflow', async (t) => {
  const script = runs('e2e.yml')
  const verify = steps('e2e.yml').find((step) => step.run?.includes('sha256sum --check'))
  t.ok(verify, 'a step downloads and checks them')
  const pinnedLines = [...(verify?.run ?? '').matchAll(/^([0-9a-f]{64}) (\S+) (\S+)$/gm)]
  t.ok(pinnedLines.length >= 10, `every add-on file has a sum (${pinnedLines.length})`)
  const names = pinnedLines.map(([, , name]) => name)
  t.same(new Set(names).size, names.length, 'one sum per file')
  t.notMatch(script, /kubectl apply[^\n]*(https?:|\$base\/)/, 'no kubectl apply reads a URL: only verified local copies')
  const applied = [...script.matchAll(/\$MANIFESTS\/([\w.-]+)/g)].map((match) => match[1])
  for (const name of applied) t.ok(names.includes(name!), `${name} is one of the verified files`)
  t.same([...new Set(applied)].sort(), [...names].sort(), 'and every verified file is applied')
  t.match(verify?.run, /exit 1/, 'a mismatch fails the run')
})

t.test('the image: bases pinned by digest in the Dockerfile, refused unpinned, deployed by digest', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  t.match(dockerfile, /^ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:[0-9a-f]{64}$/m, 'the build base defaults to a digest')
  t.match(dockerfile, /^FROM \$\{BUILD_IMAGE\} AS build$/m, 'and stays overridable')
  t.match(dockerfile, /^FROM \$\{RUNTIME_IMAGE\} AS runtime$/m)
  const guard = /^RUN for image in "\$\{BUILD_IMAGE\}" "\$\{RUNTIME_IMAGE\}"; do([\s\S]*?)done$/m.exec(dockerfile)?.[0]
  t.ok(guard, 'the build stage checks both bases first')
  // Run the guard as the build would, with the arguments of each case.
  const check = (buildImage: string, runtimeImage: string, unpinned = 'refuse') => spawnSync('sh', ['-c', guard!.replace(/^RUN /, '')], {
    encoding: 'utf8', env: { BUILD_IMAGE: buildImage, RUNTIME_IMAGE: runtimeImage, UNPINNED_BASES: unpinned, PATH: process.env.PATH }
  })
  const digest = `sha256:${'a'.repeat(64)}`
  t.equal(check(`node:24-bookworm-slim@${digest}`, `gcr.io/distroless/nodejs24-debian12@${digest}`).status, 0, 'both pinned: builds')
  const unpinned = check(`node:24-bookworm-slim@${digest}`, 'gcr.io/distroless/nodejs24-debian12')
  t.equal(unpinned.status, 1, 'a bare runtime tag: refused')
  t.match(unpinned.stderr, /gcr\.io\/distroless\/nodejs24-debian12 is not pinned by digest/, 'saying which and how to fix it')
  t.equal(check('node:24-bookworm-slim', 'gcr.io/distroless/nodejs24-debian12', 'allow').status, 0, 'a local build on stand-ins says so')
  for (const file of ['ci.yml', 'deploy.yml', 'e2e.yml']) {
    t.match(source[file], /vars\.RUNTIME_IMAGE/, `${file} builds with the repository's pinned runtime base`)
  }
  t.match(workflow['deploy.yml'].jobs.image.outputs.image, /@\$\{\{ steps\.build\.outputs\.digest \}\}$/, 'deploy.yml deploys what it built by digest')
  t.match(readFileSync(join(root, 'README.md'), 'utf8'), /RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs24-debian12@sha256:/, 'README says how to bump the bases')
})

t.test('the image\'s build stage gets every source folder the build bundles (functions/ and jobs/, with shared/ and scripts/)', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
  for (const folder of ['shared', 'functions', 'jobs', 'scripts']) {
    t.match(dockerfile, new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'), `COPY ${folder}`)
    t.ok(dockerignore.includes(`!${folder}`), `.dockerignore lets ${folder}/ into the context`)
  }
})

t.test('the image\'s default command starts the function named at build time (a bundle starts only as the main module)', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[]
  const entry = /^RUN test -f "dist\/functions\/\$\{FUNCTION\}\/index\.mjs"[\s\S]*?[^\\]\n/m.exec(dockerfile)?.[0]
  t.ok(entry, 'the build stage makes the default entry')
  // A stand-in bundle that, like every function's index, starts only when it is the main module.
  const dir = mkdtempSync(join(tmpdir(), 'security-records-entry-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'dist/functions/get-record'), { recursive: true })
  writeFileSync(join(dir, 'dist/functions/get-record/index.mjs'), "if (import.meta.main) console.log('started')\n")
  const made = spawnSync('sh', ['-c', entry!.replace(/^RUN /, '')], { cwd: dir, encoding: 'utf8', env: { FUNCTION: 'get-record', PATH: process.env.PATH } })
  t.equal(made.status, 0, made.stderr)
  const started = spawnSync(process.execPath, cmd, { cwd: dir, encoding: 'utf8' })
  t.equal(started.stdout.trim(), 'started', `node ${cmd.join(' ')} starts the function`)
})

t.test('the image ships the compile cache made by its runtime base, as its runtime user, where NODE_COMPILE_CACHE points', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const stage = (name: string) => new RegExp(`^FROM \\$\\{RUNTIME_IMAGE\\} AS ${name}$([\\s\\S]*?)(?=^FROM |(?![\\s\\S]))`, 'm').exec(dockerfile)?.[1] ?? ''
  const cache = stage('compile-cache')
  const runtime = stage('runtime')
  t.match(cache, /^RUN \["node", "\/tmp\/fill-compile-cache\.ts", "\/app\/dist", "\/tmp\/compile-cache"\]$/m, 'the cache stage fills the cache for the bundles at their runtime paths')
  // Node names the cache folder after the uid too: a cache made as another user is never read.
  const userOf = (text: string) => /^USER (.+)$/m.exec(text)?.[1]
  t.ok(userOf(runtime), 'the runtime stage names its user')
  t.equal(userOf(cache), userOf(runtime), 'the cache is made as the runtime user')
  t.match(runtime, /^COPY --from=compile-cache \/tmp\/compile-cache \.\/compile-cache$/m)
  t.match(runtime, /NODE_COMPILE_CACHE=\/app\/compile-cache/, 'and the runtime reads it')
})
