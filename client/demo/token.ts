/**
 * Room tokens for the demo. Production apps mint tokens on their backend; the demo accepts one in the URL
 * (`#token=…`) or, in local development, asks the worker's development-only route `GET /dev/token`.
 */

/** Why no token could be had, as something to tell the person. */
export class TokenUnavailable extends Error {
  readonly kind: "production" | "refused" | "network";
  constructor(kind: TokenUnavailable["kind"], message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The claims the demo reads from a token (it never verifies them: the worker does). */
export interface TokenClaims {
  room?: string;
  sub?: string;
  name?: string;
  exp?: number;
}

/** The token given in the page URL as `#token=…`, if any. */
export function tokenFromHash(hash = location.hash): string | undefined {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("token");
  return token?.trim() || undefined;
}

/** Reads a JWT's payload without verifying it (to prefill the room and name from a `#token=`). */
export function decodeTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
    const claims = JSON.parse(json) as TokenClaims;
    return typeof claims === "object" && claims !== null ? claims : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the development token route for a token. It answers 404 outside development (production): then
 * the person must bring a token in the URL.
 */
export async function fetchDevToken(room: string, userId: string, name: string): Promise<string> {
  const url = new URL("/dev/token", location.origin);
  url.searchParams.set("room", room);
  url.searchParams.set("user", userId);
  url.searchParams.set("name", name);
  let response: Response;
  try {
    response = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
  } catch (error) {
    throw new TokenUnavailable("network", `the server at ${location.origin} is unreachable (${String(error)})`);
  }
  if (response.status === 404) {
    throw new TokenUnavailable(
      "production",
      "this server does not hand out development tokens (it is not running in development mode). Open this page with #token=<room token> from your app's backend.",
    );
  }
  const body = (await response.json().catch(() => ({}))) as { token?: unknown; detail?: unknown; code?: unknown };
  if (!response.ok || typeof body.token !== "string") {
    const detail = typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
    throw new TokenUnavailable("refused", `the development token route refused: ${detail}`);
  }
  return body.token;
}
