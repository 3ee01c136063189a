/**
 * Which peer addresses the relay may send to (RFC 8656 §21.3: a TURN server is an open proxy into
 * whatever network it sits in unless it filters peers). Deny by default: loopback, unspecified,
 * private, shared, link-local (cloud metadata 169.254.169.254), multicast, broadcast, reserved and
 * documentation ranges, for IPv4 and IPv6.
 *
 * Every IPv6 spelling of an IPv4 address is judged as that IPv4 address. coturn was bypassed twice by
 * not doing so: CVE-2020-26262 (0.0.0.0, [::1] and [::] reached loopback) and CVE-2026-27624
 * (::ffff:127.0.0.1 passed a 127.0.0.0/8 deny rule because range checks compared an IPv6 peer with an
 * IPv4 range and gave up). Here:
 * - IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d *are*
 *   IPv4 addresses: they are rewritten to IPv4 and judged only as such.
 * - Translator prefixes reach an IPv4 host through a gateway: NAT64 64:ff9b::/96 (RFC 6052) and the
 *   local-use 64:ff9b:1::/48 (RFC 8215, every RFC 6052 embedding position), 6to4 2002::/16 (RFC 3056),
 *   Teredo 2001::/32 (RFC 4380: server address and the inverted client address) and ISATAP interface
 *   identifiers (RFC 5214). The IPv6 address and every embedded IPv4 address are judged; all must pass.
 *
 * Order: explicit deny list > explicit allow list > default deny ranges > allow. `allowLoopback`
 * (`--allow-loopback-peers`) opens 127.0.0.0/8 and ::1 for addresses that are those literally (or
 * mapped); a translator prefix never reaches this host's loopback, so it does not open those.
 * Anything that does not parse as a plain IPv4 dotted quad or IPv6 address (zone ids, brackets,
 * `127.1`, octal `010.0.0.1`) is denied: getaddrinfo would read some of them differently.
 *
 * Hot path: one hand-written parse into module scratch space and a scan of ~20 precomputed ranges;
 * no allocation, no regex, no BigInt.
 */
import { isIP } from "node:net";
import type { PeerPolicy } from "./handlers.ts";

/** Options of the default peer policy. */
export interface PeerPolicyOptions {
  /** Open 127.0.0.0/8 and ::1 (tests on one host). Default false. */
  allowLoopback?: boolean;
  /** Ranges opened despite the default deny list (CIDR, `a-b` range or single address). Default none. */
  allowedPeerCidrs?: string[];
  /** Ranges always denied, even when also allowed. Default none. */
  deniedPeerCidrs?: string[];
}

/** The policy, plus `explain` for logs and tests: "allow", "allow:list" or "deny:<why>". */
export type ExplainedPeerPolicy = PeerPolicy & { explain(peerAddress: string): string };

/** An inclusive address range; IPv4 as one 32-bit number, IPv6 as four 32-bit words (big-endian). */
export type PeerRange =
  | { family: 4; start: number; end: number; text: string }
  | { family: 6; start: Uint32Array; end: Uint32Array; text: string };

/** Result of parsing one operator range. */
export type PeerRangeResult = { ok: true; range: PeerRange } | { ok: false; message: string };

interface V4Range {
  start: number;
  end: number;
  reason: string;
  loopback: boolean;
}

interface V6Range {
  start: Uint32Array;
  end: Uint32Array;
  reason: string;
  loopback: boolean;
}

const ALLOW = "allow";
const ALLOW_LIST = "allow:list";
const DENY_LIST = "deny:list";
const DENY_UNPARSEABLE = "deny:unparseable";

// Default IPv4 deny ranges (IANA IPv4 Special-Purpose Address Registry, RFC 6890 and successors).
const DEFAULT_DENIED_V4: Array<[string, string]> = [
  ["0.0.0.0/8", "unspecified"], // "this network"; 0.0.0.0 reaches loopback on Linux (CVE-2020-26262)
  ["10.0.0.0/8", "private"], // RFC 1918
  ["100.64.0.0/10", "shared"], // RFC 6598 carrier-grade NAT
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"], // RFC 3927; includes cloud metadata 169.254.169.254
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "ietf-protocol-assignments"], // RFC 6890
  ["192.0.2.0/24", "documentation"], // TEST-NET-1, RFC 5737
  ["192.88.99.0/24", "6to4-relay-anycast"], // deprecated by RFC 7526
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"], // RFC 2544
  ["198.51.100.0/24", "documentation"], // TEST-NET-2
  ["203.0.113.0/24", "documentation"], // TEST-NET-3
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"], // includes limited broadcast 255.255.255.255
];

// Default IPv6 deny ranges (IANA IPv6 Special-Purpose Address Registry: "globally reachable: false").
// ::ffff:0:0/96 and ::/96 are absent on purpose: those addresses are rewritten to IPv4 first.
const DEFAULT_DENIED_V6: Array<[string, string]> = [
  ["::/128", "unspecified"], // CVE-2020-26262: [::] reached loopback
  ["::1/128", "loopback"],
  ["64:ff9b:1::/48", "nat64-local-use"], // RFC 8215: local to one operator's network
  ["100::/64", "discard-only"], // RFC 6666
  ["2001:2::/48", "benchmarking"], // RFC 5180
  ["2001:10::/28", "orchid-deprecated"], // RFC 4843
  ["2001:db8::/32", "documentation"], // RFC 3849
  ["3fff::/20", "documentation"], // RFC 9637
  ["5f00::/16", "srv6-sids"], // RFC 9602
  ["fc00::/7", "unique-local"], // RFC 4193
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local-deprecated"], // RFC 3879
  ["ff00::/8", "multicast"],
];

// Scratch space for the hot path: the parsed IPv6 groups and the IPv4 addresses a translator embeds.
const groups = new Uint16Array(8);
const embedded = new Uint32Array(8);

/**
 * Parses a strict IPv4 dotted quad (four decimal octets 0–255, no leading zeros) into an unsigned
 * 32-bit number; -1 when `text` is not one. Ends at `end` (exclusive) so IPv6 tails can reuse it.
 */
function parseIPv4(text: string, begin = 0, end = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let index = begin; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
      leadingZero = false;
      continue;
    }
    if (code < 48 || code > 57) return -1;
    // A leading zero means octal to inet_aton ("010" is 8): refuse it rather than guess.
    if (leadingZero) return -1;
    if (digits === 0 && code === 48) leadingZero = true;
    octet = octet * 10 + (code - 48);
    digits++;
    if (octet > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Parses an IPv6 address (RFC 4291 §2.2 text forms, incl. "::" and a trailing dotted quad) into
 * `out` (8 groups). No zone ids, no brackets. Returns false when `text` is not one.
 */
function parseIPv6(text: string, out: Uint16Array): boolean {
  const length = text.length;
  if (length < 2 || length > 45) return false;
  let count = 0; // groups written so far
  let gapAt = -1; // group index where "::" stands
  let index = 0;
  if (text.charCodeAt(0) === 58 /* : */) {
    if (text.charCodeAt(1) !== 58) return false;
    gapAt = 0;
    index = 2;
    if (index === length) {
      out.fill(0);
      return true;
    }
  }
  while (index < length) {
    if (count === 8) return false;
    // Read one group, or a dotted quad that fills the last two groups.
    const groupStart = index;
    let value = 0;
    let digits = 0;
    while (index < length) {
      const digit = hexValue(text.charCodeAt(index));
      if (digit < 0) break;
      value = value * 16 + digit;
      digits++;
      index++;
    }
    if (index < length && text.charCodeAt(index) === 46 /* . */) {
      if (count > 6) return false;
      const v4 = parseIPv4(text, groupStart, length);
      if (v4 < 0) return false;
      out[count++] = v4 >>> 16;
      out[count++] = v4 & 0xffff;
      index = length;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    out[count++] = value;
    if (index === length) break;
    if (text.charCodeAt(index) !== 58) return false;
    index++;
    if (index < length && text.charCodeAt(index) === 58) {
      if (gapAt >= 0) return false;
      gapAt = count;
      index++;
    } else if (index === length) {
      return false; // a single trailing colon
    }
  }
  if (gapAt < 0) return count === 8;
  if (count === 8) return false; // "::" must stand for at least one group
  const tail = count - gapAt;
  for (let from = count - 1, to = 7; tail > 0 && from >= gapAt; from--, to--) out[to] = out[from]!;
  for (let zero = gapAt; zero < gapAt + 8 - count; zero++) out[zero] = 0;
  return true;
}

function parseAddressWords(text: string): { family: 4; value: number } | { family: 6; words: Uint32Array } | null {
  if (isIP(text) === 0) return null;
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { family: 4, value: v4 };
  const parsed = new Uint16Array(8);
  if (!parseIPv6(text, parsed)) return null;
  const words = new Uint32Array(4);
  for (let word = 0; word < 4; word++) words[word] = ((parsed[word * 2]! << 16) | parsed[word * 2 + 1]!) >>> 0;
  return { family: 6, words };
}

function compareWords(a: Uint32Array, b: Uint32Array): number {
  for (let word = 0; word < 4; word++) {
    if (a[word]! !== b[word]!) return a[word]! < b[word]! ? -1 : 1;
  }
  return 0;
}

function prefixRange(words: Uint32Array, prefixLength: number): { start: Uint32Array; end: Uint32Array; hostBitsSet: boolean } {
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  let hostBitsSet = false;
  for (let word = 0; word < 4; word++) {
    const bits = Math.max(0, Math.min(32, prefixLength - word * 32));
    const mask = bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    start[word] = (words[word]! & mask) >>> 0;
    end[word] = (start[word]! | (~mask >>> 0)) >>> 0;
    if (start[word] !== words[word]) hostBitsSet = true;
  }
  return { start, end, hostBitsSet };
}

/**
 * Parses one operator range: a single address, a CIDR (`10.0.0.0/8`, `2001:db8::/32`) or an
 * inclusive coturn-style range (`83.166.64.0-83.166.95.255`). IPv4-mapped IPv6 ranges are rewritten
 * to IPv4, since mapped peers are judged as IPv4. Host bits set in a CIDR are an error (likely a typo).
 */
export function parsePeerRange(text: string): PeerRangeResult {
  const trimmed = text.trim();
  const dash = trimmed.indexOf("-");
  const slash = trimmed.indexOf("/");
  let range: PeerRange;
  if (dash >= 0) {
    const first = parseAddressWords(trimmed.slice(0, dash).trim());
    const last = parseAddressWords(trimmed.slice(dash + 1).trim());
    if (!first || !last) return { ok: false, message: `"${text}" is not a range of two IP addresses (a-b)` };
    if (first.family !== last.family) return { ok: false, message: `"${text}" mixes IPv4 and IPv6 ends` };
    if (first.family === 4 && last.family === 4) {
      if (first.value > last.value) return { ok: false, message: `"${text}": the first address is after the last` };
      range = { family: 4, start: first.value, end: last.value, text: trimmed };
    } else if (first.family === 6 && last.family === 6) {
      if (compareWords(first.words, last.words) > 0) return { ok: false, message: `"${text}": the first address is after the last` };
      range = { family: 6, start: first.words, end: last.words, text: trimmed };
    } else {
      return { ok: false, message: `"${text}" is not a valid range` };
    }
  } else {
    const addressText = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
    const address = parseAddressWords(addressText);
    if (!address) return { ok: false, message: `"${text}" is not an IP address, CIDR or a-b range` };
    const maxPrefix = address.family === 4 ? 32 : 128;
    let prefixLength = maxPrefix;
    if (slash >= 0) {
      const prefixText = trimmed.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
        return { ok: false, message: `"${text}": prefix length must be 0–${maxPrefix}` };
      }
      prefixLength = Number(prefixText);
    }
    if (address.family === 4) {
      const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
      const start = (address.value & mask) >>> 0;
      if (start !== address.value) {
        return { ok: false, message: `"${text}" has host bits set: did you mean ${formatIPv4(start)}/${prefixLength}?` };
      }
      range = { family: 4, start, end: (start | (~mask >>> 0)) >>> 0, text: trimmed };
    } else {
      const { start, end, hostBitsSet } = prefixRange(address.words, prefixLength);
      if (hostBitsSet) return { ok: false, message: `"${text}" has host bits set: clear the bits after /${prefixLength}` };
      range = { family: 6, start, end, text: trimmed };
    }
  }
  return { ok: true, range: mappedToIPv4(range) };
}

/** A range wholly inside ::ffff:0:0/96 is an IPv4 range written in IPv6 (CVE-2026-27624's blind spot). */
function mappedToIPv4(range: PeerRange): PeerRange {
  if (range.family === 4) return range;
  const { start, end } = range;
  const isMapped = (words: Uint32Array) => words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
  if (isMapped(start) && isMapped(end)) return { family: 4, start: start[3]!, end: end[3]!, text: range.text };
  return range;
}

function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

function parseRangeList(entries: string[] | undefined, setting: string): { v4: V4Range[]; v6: V6Range[] } {
  const v4: V4Range[] = [];
  const v6: V6Range[] = [];
  for (const entry of entries ?? []) {
    const parsed = parsePeerRange(entry);
    if (!parsed.ok) throw new TypeError(`${setting}: ${parsed.message}`);
    const { range } = parsed;
    if (range.family === 4) v4.push({ start: range.start, end: range.end, reason: range.text, loopback: false });
    else v6.push({ start: range.start, end: range.end, reason: range.text, loopback: false });
  }
  return { v4, v6 };
}

function defaultRanges(): { v4: V4Range[]; v6: V6Range[] } {
  const v4: V4Range[] = [];
  const v6: V6Range[] = [];
  for (const [cidr, name] of DEFAULT_DENIED_V4) {
    const parsed = parsePeerRange(cidr);
    if (!parsed.ok || parsed.range.family !== 4) throw new Error(`bad built-in range ${cidr}`);
    v4.push({ start: parsed.range.start, end: parsed.range.end, reason: `deny:${name}`, loopback: name === "loopback" });
  }
  for (const [cidr, name] of DEFAULT_DENIED_V6) {
    const parsed = parsePeerRange(cidr);
    if (!parsed.ok || parsed.range.family !== 6) throw new Error(`bad built-in range ${cidr}`);
    v6.push({ start: parsed.range.start, end: parsed.range.end, reason: `deny:${name}`, loopback: name === "loopback" });
  }
  return { v4, v6 };
}

function findV4(ranges: V4Range[], value: number): V4Range | undefined {
  for (let index = 0; index < ranges.length; index++) {
    const range = ranges[index]!;
    if (value >= range.start && value <= range.end) return range;
  }
  return undefined;
}

function inV6(range: V6Range, w0: number, w1: number, w2: number, w3: number): boolean {
  const { start, end } = range;
  // Lexicographic start <= address <= end over four 32-bit words.
  if (w0 !== start[0]) {
    if (w0 < start[0]!) return false;
  } else if (w1 !== start[1]) {
    if (w1 < start[1]!) return false;
  } else if (w2 !== start[2]) {
    if (w2 < start[2]!) return false;
  } else if (w3 < start[3]!) return false;
  if (w0 !== end[0]) return w0 < end[0]!;
  if (w1 !== end[1]) return w1 < end[1]!;
  if (w2 !== end[2]) return w2 < end[2]!;
  return w3 <= end[3]!;
}

function findV6(ranges: V6Range[], w0: number, w1: number, w2: number, w3: number): V6Range | undefined {
  for (let index = 0; index < ranges.length; index++) {
    const range = ranges[index]!;
    if (inV6(range, w0, w1, w2, w3)) return range;
  }
  return undefined;
}

/**
 * Builds the default peer policy. Throws a TypeError naming the bad entry when an allow or deny
 * entry does not parse (configuration is validated once, at start-up).
 */
export function createPeerPolicy(options: PeerPolicyOptions = {}): ExplainedPeerPolicy {
  const allowLoopback = options.allowLoopback === true;
  const denied = parseRangeList(options.deniedPeerCidrs, "--denied-peer-ip");
  const allowed = parseRangeList(options.allowedPeerCidrs, "--allowed-peer-ip");
  const defaults = defaultRanges();

  /** The verdict on one IPv4 view once the deny list has been checked. */
  function judgeV4(value: number, throughTranslator: boolean): string {
    if (findV4(allowed.v4, value)) return ALLOW_LIST;
    const hit = findV4(defaults.v4, value);
    if (hit && !(hit.loopback && allowLoopback && !throughTranslator)) return hit.reason;
    return ALLOW;
  }

  /** Fills `embedded` with the IPv4 addresses a translator address reaches; returns how many. */
  function embeddedIPv4(w0: number, w1: number, w2: number, w3: number): number {
    let count = 0;
    if (w0 === 0x0064ff9b && w1 === 0 && w2 === 0) {
      embedded[count++] = w3; // NAT64 well-known prefix: /96 only (RFC 6052 §2.2)
    } else if (w0 === 0x0064ff9b && w1 >>> 16 === 1) {
      // Local-use NAT64 (RFC 8215): the operator picks the prefix length, so try each RFC 6052 layout.
      embedded[count++] = (((w1 & 0xffff) << 16) | ((w2 >>> 8) & 0xffff)) >>> 0; // /48
      embedded[count++] = (((w1 & 0xff) << 24) | (w2 & 0xffffff)) >>> 0; // /56
      embedded[count++] = (((w2 & 0xffffff) << 8) | (w3 >>> 24)) >>> 0; // /64
      embedded[count++] = w3; // /96
    } else if (w0 >>> 16 === 0x2002) {
      embedded[count++] = (((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0; // 6to4 (RFC 3056 §2)
    } else if (w0 === 0x20010000) {
      embedded[count++] = w1; // Teredo server (RFC 4380 §4)
      embedded[count++] = ~w3 >>> 0; // Teredo client: stored with every bit inverted
    }
    // ISATAP interface identifier 0000:5efe:a.b.c.d or 0200:5efe:a.b.c.d under any prefix (RFC 5214 §6.1).
    if ((w2 & 0xfdffffff) >>> 0 === 0x00005efe) embedded[count++] = w3;
    return count;
  }

  function explain(peerAddress: string): string {
    if (typeof peerAddress !== "string") return DENY_UNPARSEABLE;
    const v4 = parseIPv4(peerAddress);
    if (v4 >= 0) {
      if (findV4(denied.v4, v4)) return DENY_LIST;
      return judgeV4(v4, false);
    }
    // The strict parser alone (node:net's isIP regex would triple the cost); the tests check that it
    // agrees with isIP on mutated and random strings.
    if (!parseIPv6(peerAddress, groups)) return DENY_UNPARSEABLE;
    const w0 = ((groups[0]! << 16) | groups[1]!) >>> 0;
    const w1 = ((groups[2]! << 16) | groups[3]!) >>> 0;
    const w2 = ((groups[4]! << 16) | groups[5]!) >>> 0;
    const w3 = ((groups[6]! << 16) | groups[7]!) >>> 0;

    // IPv4 in IPv6 clothing: mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96 (RFC 6145) and the
    // deprecated compatible ::/96 (RFC 4291 §2.5.5.1; but :: and ::1 are themselves). Judge as IPv4.
    if (w0 === 0 && w1 === 0 && (w2 === 0xffff || w2 === 0xffff0000 || (w2 === 0 && w3 > 1))) {
      if (findV4(denied.v4, w3)) return DENY_LIST;
      return judgeV4(w3, false);
    }

    const count = embeddedIPv4(w0, w1, w2, w3);
    // Explicit deny beats everything, on the IPv6 address and on every IPv4 address it reaches.
    if (findV6(denied.v6, w0, w1, w2, w3)) return DENY_LIST;
    for (let index = 0; index < count; index++) if (findV4(denied.v4, embedded[index]!)) return DENY_LIST;

    let verdict: string = ALLOW;
    if (findV6(allowed.v6, w0, w1, w2, w3)) {
      verdict = ALLOW_LIST;
    } else {
      const hit = findV6(defaults.v6, w0, w1, w2, w3);
      if (hit && !(hit.loopback && allowLoopback)) return hit.reason;
    }
    for (let index = 0; index < count; index++) {
      const embeddedVerdict = judgeV4(embedded[index]!, true);
      if (embeddedVerdict !== ALLOW && embeddedVerdict !== ALLOW_LIST) return `${embeddedVerdict}:embedded`;
    }
    return verdict;
  }

  const policy = ((peerAddress: string) => {
    const verdict = explain(peerAddress);
    return verdict === ALLOW || verdict === ALLOW_LIST ? "allow" : "deny";
  }) as ExplainedPeerPolicy;
  policy.explain = explain;
  return policy;
}
