/**
 * `npm run openapi`: writes everything the documentation derives from the code —
 * openapi/openapi.json and .yaml, the Postman collection and local environment, and the
 * README's configuration and workflow tables. Tests fail when a committed file differs.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { buildOpenApiDocument } from './openapi/document.ts'
import { buildPostmanCollection, localEnvironment } from './openapi/postman.ts'
import { renderReadme } from './openapi/readme-tables.ts'
import { documentationFiles, renderJson, renderYaml } from './openapi/files.ts'

const document = await buildOpenApiDocument()
const outputs: Array<[URL, string]> = [
  [documentationFiles.openapiJson, renderJson(document)],
  [documentationFiles.openapiYaml, renderYaml(document)],
  [documentationFiles.postmanCollection, renderJson(await buildPostmanCollection(document as never))],
  [documentationFiles.postmanEnvironment, renderJson(localEnvironment())],
  [documentationFiles.readme, renderReadme(await readFile(documentationFiles.readme, 'utf8'))]
]
for (const [file, content] of outputs) {
  const before = await readFile(file, 'utf8').catch(() => undefined)
  if (before === content) continue
  await writeFile(file, content)
  console.log(`wrote ${file.pathname.slice(new URL('..', import.meta.url).pathname.length)}`)
}
