/** Reads a credential from `Authorization: Bearer …` or, for WebSocket upgrades, the `?token=` query. */
import type { Context } from "hono";

/** The bearer token of a request, from the Authorization header first, then `?token=`; undefined when absent. */
export function bearerToken(c: Context, allowQuery = true): string | undefined {
  const header = c.req.header("authorization");
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match?.[1]) return match[1].trim();
  }
  if (!allowQuery) return undefined;
  const query = c.req.query("token");
  return query && query.length > 0 ? query : undefined;
}

const encoder = new TextEncoder();

/** Compares two secrets in time independent of where they differ. */
export function timingSafeEqualText(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let difference = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let index = 0; index < length; index++) difference |= (left[index] ?? 0) ^ (right[index] ?? 0);
  return difference === 0;
}
