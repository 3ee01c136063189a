/**
 * TURN REST credentials (draft-uberti-behave-turn-rest-00, coturn `use-auth-secret`):
 * username = "<unix-expiry>:<user>", password = base64(HMAC-SHA1(secret, username)).
 * Written once with Web Crypto so the worker (which mints) and the TURN server (which checks) agree.
 */

const encoder = new TextEncoder();

/** A minted credential pair, as placed in an `RTCIceServer`. */
export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix seconds when the credential stops being accepted for new allocations. */
  expiresAt: number;
}

/** Computes the TURN password for `username` under `secret`: base64(HMAC-SHA1(secret, username)). */
export async function turnPassword(secret: string, username: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Mints a credential for `user` valid for `ttlSeconds` from `now` (unix seconds), signed by `secret`. */
export async function mintTurnCredential(
  secret: string,
  user: string,
  ttlSeconds: number,
  now = Math.floor(Date.now() / 1000),
): Promise<TurnCredential> {
  const expiresAt = now + ttlSeconds;
  const username = `${expiresAt}:${user}`;
  return { username, credential: await turnPassword(secret, username), expiresAt };
}

/**
 * Reads the expiry from a REST username ("<expiry>:<user>", or "<expiry>" alone as coturn allows).
 * Returns null when the username is not of that form.
 */
export function turnUsernameExpiry(username: string): number | null {
  const colon = username.indexOf(":");
  const head = colon === -1 ? username : username.slice(0, colon);
  if (!/^\d{1,12}$/.test(head)) return null;
  return Number(head);
}

/** Splits a comma-separated secret list (TURN_SECRETS, --static-auth-secret a,b): the first signs, all verify. */
export function parseSecretList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
}
