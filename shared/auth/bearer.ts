/** RFC 6750 §2.1 `Authorization: Bearer <token>`; the token's characters are b64token. */
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

/** The token of a Bearer `Authorization` header; undefined for any other form. */
export function bearerToken (authorization: string): string | undefined {
  return BEARER.exec(authorization)?.[1]
}
