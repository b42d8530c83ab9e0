// How the delivery queue groups and filters by target: the URL's host (with port) and the `target=` filter.

const HOST_CACHE_SIZE = 1024;
/** Recent URLs' hosts: a delivery's host is asked for several times (enqueue, insert, admit) per attempt. */
const hosts = new Map<string, string>();

/** host[:port] of a target URL, lower case; the per-host limit counts by it. */
export function deliveryHost(url: string): string {
  let host = hosts.get(url);
  if (host !== undefined) return host;
  try {
    host = new URL(url).host.toLowerCase();
  } catch {
    host = '';
  }
  if (hosts.size >= HOST_CACHE_SIZE) hosts.clear();
  hosts.set(url, host);
  return host;
}

/** `target` with a scheme is a URL prefix; without one it names a host[:port]. */
export function matchesTarget(url: string, target: string): boolean {
  return target.includes('://') ? url.startsWith(target) : deliveryHost(url) === target.toLowerCase();
}
