// The Link header of a WebSub delivery: `<hub>; rel="hub", <topic>; rel="self"`. Header values are
// bytes (no characters beyond Latin-1, no control characters), and a URI reference in `<…>` may not
// hold `<`, `>`, spaces or quotes: everything outside RFC 3986's characters is percent-encoded (UTF-8),
// so a topic such as `news☃` becomes `news%E2%98%83`. Existing `%XX` escapes are kept as they are.

const NOT_URI_CHAR = /[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu;

/** The URI reference as it may appear in a Link header. */
export function linkUri(uri: string): string {
  // Buffer, not encodeURIComponent: a lone surrogate becomes U+FFFD instead of throwing.
  return uri.replace(NOT_URI_CHAR, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

export function websubLink(hubUrl: string, topic: string): string {
  return `<${linkUri(hubUrl)}>; rel="hub", <${linkUri(topic)}>; rel="self"`;
}
