// Which browser origins may use the browser endpoints (/ws, /ws/sse, /ws/send). A browser sends its
// cookies with a cross-site WebSocket upgrade, so without this check a foreign page could act as its
// visitor (cross-site WebSocket hijacking). Clients that send no Origin (scripts, servers) are not browsers.

export interface OriginPolicy {
  /** True when a request with this Origin header, sent to this Host, may go on. */
  allows(origin: string | undefined, host: string | undefined): boolean;
}

/** The scheme://host:port form browsers send (default ports dropped, lower case); undefined when not a URL. */
export function normalOrigin(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const origin = new URL(text).origin;
  return origin === 'null' ? undefined : origin;
}

/**
 * `listed`: --allowed-origins (`*` any, `null` the opaque origin of sandboxed pages and files).
 * Always allowed: the origin of `publicUrl()` (read lazily: known once listening) and any origin whose
 * host:port is the request's Host header (the page was served by this server).
 */
export function createOriginPolicy(listed: readonly string[], publicUrl: () => string | undefined): OriginPolicy {
  const any = listed.includes('*');
  const opaque = listed.includes('null');
  const exact = new Set(listed.map(normalOrigin).filter((o): o is string => o !== undefined));
  return {
    allows(origin, host) {
      if (origin === undefined || any) return true;
      if (origin === 'null') return opaque;
      const given = normalOrigin(origin);
      if (given === undefined) return false;
      if (exact.has(given)) return true;
      const base = publicUrl();
      if (base !== undefined && normalOrigin(base) === given) return true;
      return host !== undefined && new URL(given).host === host.toLowerCase();
    },
  };
}
