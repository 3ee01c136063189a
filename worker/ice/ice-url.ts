/**
 * ICE server URLs (RFC 7064 `stun:`/`stuns:`, RFC 7065 `turn:`/`turns:`): parsing the host a node
 * advertises, and choosing the few URLs of one node that a client gets.
 */

/** The parts of an ICE URL. */
export interface IceUrl {
  scheme: "stun" | "stuns" | "turn" | "turns";
  /** Host name or IP address, lower case, IPv6 without brackets. */
  host: string;
  port?: number;
  transport?: "udp" | "tcp";
}

// RFC 7064 §3.1 / RFC 7065 §3.1: scheme ":" host [":" port] ["?transport=" ("udp" / "tcp")].
const ICE_URL = /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/** Parses an ICE URL; null when it is not of the RFC 7064/7065 form. */
export function parseIceUrl(url: string): IceUrl | null {
  const match = ICE_URL.exec(url);
  if (!match) return null;
  const [, scheme, rawHost, rawPort, transport] = match;
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  const host = rawHost!.startsWith("[") ? rawHost!.slice(1, -1) : rawHost!;
  const parsed: IceUrl = { scheme: scheme as IceUrl["scheme"], host: host.toLowerCase() };
  if (port !== undefined) parsed.port = port;
  if (transport !== undefined) parsed.transport = transport as "udp" | "tcp";
  return parsed;
}

/** Most URLs of one node handed to a client: a browser allocates on every TURN URL it is given. */
export const MAX_NODE_URLS = 4;

/** A node's URLs split into the ICE server entries of an answer. */
export interface NodeUrls {
  /** `stun:`/`stuns:` URLs (no credentials). */
  stun: string[];
  /** `turn:`/`turns:` URLs (with the REST credential). */
  turn: string[];
}

// The preferred mix: one STUN, TURN over UDP (cheapest), TURN over TCP, TURN over TLS (passes most firewalls).
function urlClass(url: string): number {
  if (url.startsWith("stun")) return 0;
  if (url.startsWith("turns:")) return 3;
  // RFC 7065 §3: a turn: URL without ?transport= means UDP.
  return url.endsWith("?transport=tcp") ? 2 : 1;
}

/**
 * Chooses at most MAX_NODE_URLS of a node's advertised URLs: the first of each class (STUN, TURN/UDP,
 * TURN/TCP, TURNS) first, then the remaining ones in advertised order.
 */
export function pickNodeUrls(urls: readonly string[], max = MAX_NODE_URLS): NodeUrls {
  const chosen: string[] = [];
  const taken = new Set<number>();
  for (let wanted = 0; wanted < 4 && chosen.length < max; wanted++) {
    const index = urls.findIndex((url, i) => !taken.has(i) && urlClass(url) === wanted);
    if (index !== -1) {
      taken.add(index);
      chosen.push(urls[index]!);
    }
  }
  for (let index = 0; index < urls.length && chosen.length < max; index++) {
    if (!taken.has(index)) chosen.push(urls[index]!);
  }
  return {
    stun: chosen.filter((url) => url.startsWith("stun")),
    turn: chosen.filter((url) => url.startsWith("turn")),
  };
}
