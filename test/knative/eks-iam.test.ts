/**
 * EKS: the IAM policies of knative/overlays/eks/iam/ grant each role exactly the DynamoDB actions
 * the bundles that run as it send, read from the code (every `new …Command(` of each bundle), and the role ARNs name the account deploy.yml is given.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import t from 'tap'
import { parse } from 'yaml'
import { podSpecs, renderOverlay, typeOf } from '../../knative/scripts/render.ts'

const root = new URL('../../', import.meta.url).pathname
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const eks = renderOverlay('eks')

/**
 * The IAM action of a DynamoDB command class: the document client's names (lib-dynamodb) differ
 * from the API's, the low-level client's are the API's own (`CreateTableCommand` is CreateTable).
 */
const DOCUMENT_CLIENT_ACTIONS = new Map([
  ['Get', 'GetItem'], ['Put', 'PutItem'], ['Update', 'UpdateItem'], ['Delete', 'DeleteItem'],
  ['BatchGet', 'BatchGetItem'], ['BatchWrite', 'BatchWriteItem'], ['TransactGet', 'TransactGetItems'], ['TransactWrite', 'TransactWriteItems']
])
const actionOf = (command: string) => `dynamodb:${DOCUMENT_CLIENT_ACTIONS.get(command) ?? command}`

/**
 * The DynamoDB actions one bundle sends: its code as esbuild bundles it (tree-shaken, so a module's
 * functions the bundle never calls do not count; dependencies left out), every `new …Command(`.
 */
async function actionsSentBy (entry: string): Promise<string[]> {
  const result = await build({ entryPoints: [join(root, entry)], bundle: true, write: false, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' })
  const code = result.outputFiles.map((file) => file.text).join('\n')
  // esbuild renames an import that collides (GetCommand2): the digits are not part of the name.
  const commands = [...code.matchAll(/\bnew (\w+?)Command\d*\(/g)].map((match) => match[1]!)
  return [...new Set(commands.map(actionOf))].sort()
}

/** `dist/functions/get-record/index.mjs` (a container's args) → `functions/get-record/index.ts`. */
const sourceOf = (bundle: string) => bundle.replace(/^dist\//, '').replace(/\.mjs$/, '.ts')

const policyOf = (role: string) => JSON.parse(read(`knative/overlays/eks/iam/${role}.json`))

t.test('each IAM role is granted exactly the DynamoDB actions its workloads send, on the table and its indexes', async (t) => {
  const roleOf = new Map(eks.filter((object) => typeOf(object) === 'v1/ServiceAccount')
    .map((account) => [account.metadata.name, /:role\/([\w+=,.@-]+)$/.exec(account.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '')?.[1]]))
  const sent = new Map<string | undefined, Set<string>>()
  for (const { owner, pod } of podSpecs(eks)) {
    const role = roleOf.get(pod.serviceAccountName)
    for (const container of pod.containers) {
      const actions = await actionsSentBy(sourceOf(container.args[0]))
      if (role === undefined) t.same(actions, [], `${owner.kind} ${owner.metadata.name} runs without a role and sends nothing to DynamoDB`)
      for (const action of actions) sent.set(role, (sent.get(role) ?? new Set()).add(action))
    }
  }
  t.same([...sent.keys()].sort(), ['security-records-bootstrap', 'security-records-functions'], 'two roles send commands')
  for (const [role, actions] of sent) {
    const [statement, ...others] = policyOf(role!).Statement
    t.equal(others.length, 0, `${role}: one statement`)
    t.equal(statement.Effect, 'Allow')
    t.same([...statement.Action].sort(), [...actions].sort(), `${role}: every action its workloads send, and no other`)
    t.same(statement.Resource, ['TABLE_ARN', 'TABLE_ARN/index/*'], `${role}: the table and its indexes only`)
  }
  t.ok(sent.get('security-records-functions')?.has('dynamodb:BatchWriteItem') && sent.get('security-records-functions')?.has('dynamodb:BatchGetItem'),
    'the import\'s batch reads and writes are among them')
})

t.test('docs/deployment.md creates the policies from those files, and names what the by-hand reshard job needs beyond them', async (t) => {
  const docs = read('docs/deployment.md')
  const granted = new Set(['security-records-functions', 'security-records-bootstrap'].flatMap((role) => policyOf(role).Statement[0].Action as string[]))
  const beyond = (await actionsSentBy('jobs/reshard-indexes/index.ts')).filter((action) => !granted.has(action))
  t.ok(beyond.length > 0, `jobs/reshard-indexes sends ${beyond.join(', ')} besides`)
  for (const action of beyond) t.match(docs, new RegExp(`jobs/reshard-indexes[^]{0,200}\`${action}\``), `the guide says it needs ${action}`)
  const loop = /for role in ([\w -]+); do\n\s+sed "s\|TABLE_ARN\|\$TABLE_ARN\|g" "knative\/overlays\/eks\/iam\/\$role\.json" > "\$role-policy\.json"\n\s+aws iam create-policy --policy-name \$role --policy-document "file:\/\/\$role-policy\.json"/.exec(docs)
  t.same(loop?.[1]?.split(' ').sort(), ['security-records-bootstrap', 'security-records-functions'], 'the guide creates each policy from its file, with the table\'s ARN')
  for (const role of ['security-records-functions', 'security-records-bootstrap']) {
    t.match(docs, `--role-name ${role} --role-only \\\n  --attach-policy-arn "arn:aws:iam::$ACCOUNT:policy/${role}"`, `and attaches ${role} to its role`)
  }
  t.notMatch(docs, /"dynamodb:\w+"/, 'no second list of actions to drift from the files')
})

t.test('deploy.yml names the roles\' account from the variable AWS_ACCOUNT_ID before it deploys, and stops without it', async (t) => {
  const steps = parse(read('.github/workflows/deploy.yml')).jobs.deploy.steps as Array<{ name?: string, if?: string, run?: string, env?: Record<string, string>, uses?: string }>
  const account = steps.findIndex((step) => step.run?.startsWith('knative/scripts/set-eks-account.sh'))
  const deploy = steps.findIndex((step) => step.run?.includes('knative/deploy.sh'))
  const login = steps.findIndex((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'))
  t.ok(account >= 0 && account < login && login < deploy, 'before the AWS login and the deploy')
  t.equal(steps[account]?.if, "env.CLOUD == 'eks'")
  t.equal(steps[account]?.env?.AWS_ACCOUNT_ID, '${{ vars.AWS_ACCOUNT_ID }}')
  t.equal(steps[account]?.run, 'knative/scripts/set-eks-account.sh "$AWS_ACCOUNT_ID"')

  // The script on a copy of knative/, as the runner's checkout would run it.
  const copy = mkdtempSync(join(tmpdir(), 'security-records-eks-'))
  t.teardown(() => rmSync(copy, { recursive: true, force: true }))
  cpSync(join(root, 'knative'), join(copy, 'knative'), { recursive: true })
  const run = (account: string) => spawnSync('bash', [join(copy, 'knative/scripts/set-eks-account.sh'), account], { encoding: 'utf8', env: { ...process.env, GITHUB_ACTIONS: 'true' } })
  const roles = () => renderOverlay(join(copy, 'knative/overlays/eks')).filter((object) => typeOf(object) === 'v1/ServiceAccount')
    .map((account) => account.metadata.annotations?.['eks.amazonaws.com/role-arn']).filter(Boolean).sort()

  t.same(roles(), ['arn:aws:iam::111122223333:role/security-records-bootstrap', 'arn:aws:iam::111122223333:role/security-records-functions'], 'the overlay ships the placeholder')
  const unset = run('')
  t.equal(unset.status, 2, 'an unset variable stops the job')
  t.match(unset.stdout, /^::error title=eks overlay::.*AWS_ACCOUNT_ID/m, 'with an annotation naming the variable')
  t.match(unset.stderr, /AWS_ACCOUNT_ID/)
  t.equal(run('12345').status, 2, 'so does a malformed account id')
  t.equal(run('123456789012').status, 0)
  t.same(roles(), ['arn:aws:iam::123456789012:role/security-records-bootstrap', 'arn:aws:iam::123456789012:role/security-records-functions'], 'both roles in the given account')
  t.equal(run('210987654321').status, 0, 'and again with another account')
  t.same(roles(), ['arn:aws:iam::210987654321:role/security-records-bootstrap', 'arn:aws:iam::210987654321:role/security-records-functions'])
})
