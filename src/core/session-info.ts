// What a transport knows of a new browser connection, handed to the product that serves it:
// one shape for both sides (transports know no product; products know no transport).

export interface SessionInfo {
  cookie: string | undefined;
  transport: string;
  /** The browser's Origin header (absent for non-browser clients). */
  origin?: string | undefined;
  /** The peer's address, and the X-Forwarded-For header a proxy in front may have set (trusted only with --trust-proxy). */
  address?: string | undefined;
  forwardedFor?: string | undefined;
}
