// How the delivery queue groups and filters by target: the URL's host (with port) and the `target=` filter.

/** host[:port] of a target URL, lower case; the per-host limit counts by it. */
export function deliveryHost(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return '';
  }
}

/** `target` with a scheme is a URL prefix; without one it names a host[:port]. */
export function matchesTarget(url: string, target: string): boolean {
  return target.includes('://') ? url.startsWith(target) : deliveryHost(url) === target.toLowerCase();
}
