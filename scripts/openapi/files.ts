import { stringify } from 'yaml'

const root = new URL('../../', import.meta.url)

/** Where `npm run openapi` writes; the drift tests read the same paths. */
export const documentationFiles = {
  openapiJson: new URL('openapi/openapi.json', root),
  openapiYaml: new URL('openapi/openapi.yaml', root),
  postmanCollection: new URL('openapi/security-records.postman_collection.json', root),
  postmanEnvironment: new URL('openapi/local.postman_environment.json', root),
  readme: new URL('README.md', root)
} as const

export const renderJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** YAML without anchors or folded lines, so it diffs line by line like the JSON. */
export const renderYaml = (value: unknown) => stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 })
