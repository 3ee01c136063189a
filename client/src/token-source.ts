/** Where the client gets a room token (or API key): a fixed string or a function that fetches a fresh one. */

/** A token, or a function returning one (called again when the server says the token expired). */
export type TokenSource = string | (() => string | Promise<string>);

/** Resolves a TokenSource to the token text. */
export async function resolveToken(source: TokenSource): Promise<string> {
  return typeof source === "function" ? await source() : source;
}

/** Turns an http(s) base URL into the ws(s) URL of `path` (WebSocket URLs use ws/wss, RFC 6455 §3). */
export function webSocketUrl(baseUrl: string, path: string): URL {
  const url = new URL(path, withTrailingSlash(baseUrl));
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  return url;
}

/** Resolves `path` against `baseUrl` as an http(s) URL (a ws/wss base is mapped back). */
export function httpUrl(baseUrl: string, path: string): URL {
  const url = new URL(path, withTrailingSlash(baseUrl));
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  return url;
}

function withTrailingSlash(baseUrl: string): string {
  return baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
}
