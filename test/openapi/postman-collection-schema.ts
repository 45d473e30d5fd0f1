import { Type } from 'typebox'

/**
 * The parts of the Postman Collection Format v2.1.0 that the generated collection uses, with
 * the format's own rules (required members, types, enums): what an importer relies on.
 */
const Description = Type.Union([Type.String(), Type.Object({ content: Type.String(), type: Type.Optional(Type.String()) }), Type.Null()])

const KeyValue = Type.Object({
  key: Type.Union([Type.String(), Type.Null()]),
  value: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description)
})

const Variable = Type.Object({
  key: Type.String(),
  value: Type.Optional(Type.Unknown()),
  type: Type.Optional(Type.Enum(['string', 'boolean', 'any', 'number'])),
  disabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description)
})

const Url = Type.Object({
  raw: Type.Optional(Type.String()),
  protocol: Type.Optional(Type.String()),
  host: Type.Union([Type.String(), Type.Array(Type.String())]),
  path: Type.Union([Type.String(), Type.Array(Type.String())]),
  query: Type.Optional(Type.Array(KeyValue)),
  variable: Type.Optional(Type.Array(Variable))
})

const Auth = Type.Object({
  type: Type.Enum(['apikey', 'awsv4', 'basic', 'bearer', 'digest', 'edgegrid', 'hawk', 'noauth', 'oauth1', 'oauth2', 'ntlm']),
  oauth2: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.Unknown()), type: Type.String() })))
})

const Body = Type.Object({
  mode: Type.Optional(Type.Enum(['raw', 'urlencoded', 'formdata', 'file', 'graphql'])),
  raw: Type.Optional(Type.String()),
  options: Type.Optional(Type.Object({}))
})

const Request = Type.Object({
  method: Type.Enum(['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'COPY', 'HEAD', 'OPTIONS', 'LINK', 'UNLINK', 'PURGE', 'LOCK', 'UNLOCK', 'PROPFIND', 'VIEW']),
  url: Url,
  header: Type.Array(KeyValue),
  auth: Type.Optional(Type.Union([Auth, Type.Null()])),
  body: Type.Optional(Body),
  description: Type.Optional(Description)
})

const Response = Type.Object({
  name: Type.String(),
  originalRequest: Type.Optional(Request),
  status: Type.Optional(Type.String()),
  code: Type.Optional(Type.Integer()),
  header: Type.Optional(Type.Array(KeyValue)),
  body: Type.Optional(Type.Union([Type.String(), Type.Null()]))
})

const Event = Type.Object({
  listen: Type.String(),
  script: Type.Object({ type: Type.Optional(Type.String()), exec: Type.Union([Type.String(), Type.Array(Type.String())]) })
})

const Item = Type.Object({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Description),
  event: Type.Optional(Type.Array(Event)),
  request: Request,
  response: Type.Optional(Type.Array(Response))
})

export const PostmanCollectionV21 = Type.Object({
  info: Type.Object({
    name: Type.String({ minLength: 1 }),
    schema: Type.Literal('https://schema.getpostman.com/json/collection/v2.1.0/collection.json'),
    _postman_id: Type.Optional(Type.String()),
    description: Type.Optional(Description)
  }),
  item: Type.Array(Item, { minItems: 1 }),
  auth: Type.Optional(Auth),
  event: Type.Optional(Type.Array(Event)),
  variable: Type.Optional(Type.Array(Variable))
})

export const PostmanEnvironment = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ minLength: 1 }),
  values: Type.Array(Type.Object({ key: Type.String(), value: Type.String(), type: Type.Enum(['default', 'secret']), enabled: Type.Boolean() }, { additionalProperties: false })),
  _postman_variable_scope: Type.Literal('environment')
})
