// How an outgoing URL appears in logs: no query string, fragment or credentials, which may carry
// secrets (callback tokens, signed links). The one helper for every log line that names a URL.

/** The URL as logged: origin and path, `?…` when it had a query string. Never throws. */
export function logUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    // Not an absolute URL (a bare topic name, a malformed value): cut at the query string, if any.
    const cut = url.search(/[?#]/);
    return cut < 0 ? url : `${url.slice(0, cut)}${url[cut] === '?' ? '?…' : ''}`;
  }
}
