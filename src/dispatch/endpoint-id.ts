// Which endpoint a delivery goes to: the longest URL prefix defined through the API that its URL starts
// with (compared as given), else its origin (scheme, host and port).

const CACHE_SIZE = 4096;

/** The origin of a URL (`https://host[:port]`, default port left out), or '' when it does not parse. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** True when `id` names an origin endpoint rather than a URL prefix. */
export const isOrigin = (id: string): boolean => originOf(id) === id;

export class EndpointResolver {
  /** Defined prefixes, longest first. */
  private prefixes: string[] = [];
  private readonly cache = new Map<string, string>();

  /** The prefixes defined now (their order does not matter). */
  setPrefixes(prefixes: readonly string[]): void {
    const sorted = [...prefixes].sort((a, b) => b.length - a.length);
    if (sorted.join('\n') === this.prefixes.join('\n')) return;
    this.prefixes = sorted;
    this.cache.clear();
  }

  endpointOf(url: string): string {
    let id = this.cache.get(url);
    if (id !== undefined) return id;
    id = this.prefixes.find((p) => url.startsWith(p)) ?? originOf(url);
    if (this.cache.size >= CACHE_SIZE) this.cache.clear();
    this.cache.set(url, id);
    return id;
  }
}
