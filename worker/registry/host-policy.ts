/**
 * Which hosts TURN nodes may advertise (TURN_NODE_HOSTS). Whoever holds TURN_NODE_TOKEN can register a
 * "node" whose URLs point anywhere, and /v1/ice then sends clients' relayed media there. The list narrows
 * that to the operator's own names: exact hosts or IPs (`turn1.example.com`, `203.0.113.7`) and `*`
 * wildcards (`*.turn.example.com`, where `*` stands for one or more characters of a host name). Empty
 * means any host — acceptable only while the node token is as well guarded as TURN_SECRETS (docs/api.md).
 */
import { parseIceUrl } from "../ice/ice-url.ts";

const compiled = new WeakMap<readonly string[], RegExp[]>();

function patternsOf(list: readonly string[]): RegExp[] {
  let patterns = compiled.get(list);
  if (!patterns) {
    patterns = list.map((pattern) => {
      const escaped = pattern
        .toLowerCase()
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[a-z0-9.:-]+");
      return new RegExp(`^${escaped}$`);
    });
    compiled.set(list, patterns);
  }
  return patterns;
}

/** True when `host` (lower case, IPv6 without brackets) matches one of `allowed`, or `allowed` is empty. */
export function isHostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return patternsOf(allowed).some((pattern) => pattern.test(host));
}

/** Why an advertised URL list is refused: the index of the URL, the URL, and a code. */
export interface UrlRefusal {
  index: number;
  url: string;
  reason: "malformed" | "host_not_allowed";
}

/** Checks every advertised URL: it must parse as an ICE URL and its host must be allowed. Null when all pass. */
export function checkAdvertisedUrls(urls: readonly string[], allowed: readonly string[]): UrlRefusal | null {
  for (let index = 0; index < urls.length; index++) {
    const url = urls[index]!;
    const parsed = parseIceUrl(url);
    if (!parsed) return { index, url, reason: "malformed" };
    if (!isHostAllowed(parsed.host, allowed)) return { index, url, reason: "host_not_allowed" };
  }
  return null;
}
