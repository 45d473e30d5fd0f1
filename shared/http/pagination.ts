/** RFC 8288 `Link: <…>; rel="next"` for the same request with the next cursor. */
export function nextPageLink (requestUrl: string, nextCursor: string): string {
  const url = new URL(requestUrl, 'http://placeholder')
  url.searchParams.set('cursor', nextCursor)
  return `<${url.pathname}${url.search}>; rel="next"`
}
