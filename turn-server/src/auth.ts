/**
 * Default AuthHandlers (pion/turn's LongTermTURNRESTAuthHandler and a static user table).
 * Both return the RFC 8489 §9.2.2 long-term key MD5(username ":" realm ":" password); the server stores
 * it in the allocation, so later requests on that allocation never come back here.
 */
import { turnPassword, turnUsernameExpiry } from "../../protocol/turn-credentials.ts";
import type { AuthGrant, AuthHandler } from "./handlers.ts";
import { longTermKey } from "./stun/integrity.ts";

/** Options of restAuthHandler. */
export interface RestAuthOptions {
  /** Unix-milliseconds clock (tests). Default Date.now. */
  clock?: () => number;
}

/**
 * TURN REST credentials (`--use-auth-secret`): username "<unix expiry>:<user>", password
 * base64(HMAC-SHA1(secret, username)) via the shared protocol/turn-credentials.ts. Refuses a username
 * whose expiry has passed (checked when an allocation is created). With several secrets (rotation) the
 * grant's `key` comes from the first and `alternateKeys` from the rest; the server keeps whichever one
 * the client's MESSAGE-INTEGRITY verifies with.
 */
export function restAuthHandler(secrets: string[], options: RestAuthOptions = {}): AuthHandler {
  if (secrets.length === 0) throw new Error("restAuthHandler: at least one secret is required (--static-auth-secret)");
  const clock = options.clock ?? Date.now;
  return async (username, realm) => {
    const expiry = turnUsernameExpiry(username);
    if (expiry === null || expiry * 1000 <= clock()) return null;
    const colon = username.indexOf(":");
    const user = colon === -1 ? username : username.slice(colon + 1);
    const keys = await Promise.all(secrets.map(async (secret) => longTermKey(username, realm, await turnPassword(secret, username))));
    const grant: AuthGrant = { key: keys[0]!, user };
    if (keys.length > 1) grant.alternateKeys = keys.slice(1);
    return grant;
  };
}

/** Static long-term users (`--user name:password`), for development and tests. */
export function staticUsersAuthHandler(users: Map<string, string>): AuthHandler {
  return (username, realm) => {
    const password = users.get(username);
    return password === undefined ? null : { key: longTermKey(username, realm, password), user: username };
  };
}
