/**
 * Static bearer secrets: app API keys (API_KEYS, for `/v1/ice`), the TURN node token (TURN_NODE_TOKEN)
 * and the operator token (ADMIN_TOKEN). Each comparison is constant-time, and every configured key is
 * compared, so timing reveals neither which key matched nor how much of one did.
 */
import type { Context } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import { requireSecret, type SecretName } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../problem.ts";
import { bearerToken, timingSafeEqualText } from "./bearer.ts";

const encoder = new TextEncoder();
/** key → label, so SHA-256 runs once per key per isolate. Holds only configured keys. */
const labels = new Map<string, string>();

/**
 * A name for an API key that is safe to put in a TURN username and logs: `apikey:` and the first 8 hex
 * digits of SHA-256("switchboard-api-key:" + key). 32 bits identify a key among a few; they do not help
 * guess a random key (API keys should carry ≥ 128 bits, e.g. `openssl rand -hex 16`).
 */
export async function apiKeyLabel(key: string): Promise<string> {
  let label = labels.get(key);
  if (label === undefined) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`switchboard-api-key:${key}`)));
    label = `apikey:${[...digest.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
    labels.set(key, label);
  }
  return label;
}

/** The label of the configured API key equal to `candidate`, or null. Compares against every key. */
export async function matchApiKey(keys: readonly string[], candidate: string): Promise<string | null> {
  let matched: string | undefined;
  for (const key of keys) {
    if (timingSafeEqualText(candidate, key) && matched === undefined) matched = key;
  }
  return matched === undefined ? null : apiKeyLabel(matched);
}

/** True when `presented` equals one of `secrets`; compares against every one, in constant time each. */
export function matchesAnySecret(secrets: readonly string[], presented: string | undefined): boolean {
  if (presented === undefined) return false;
  let matched = false;
  for (const secret of secrets) matched = timingSafeEqualText(presented, secret) || matched;
  return matched;
}

/**
 * Requires `Authorization: Bearer <secret>` equal to one of the configured secrets `name` (a comma list, so
 * it rotates without a gap; never from the query). Throws a 500 `misconfigured` problem when the secret is
 * not set, a 401 `unauthorized` when the header is missing or wrong.
 */
export function requireBearerSecret(c: Context<AppEnv>, secrets: readonly string[], name: SecretName): void {
  const expected = requireSecret(secrets, name);
  if (!matchesAnySecret(expected, bearerToken(c, false))) {
    throw new ProblemError(
      401,
      ErrorCode.unauthorized,
      `this route needs Authorization: Bearer <${name}>`,
      {},
      { "www-authenticate": 'Bearer realm="switchboard"' },
    );
  }
}
