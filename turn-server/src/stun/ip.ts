/**
 * IP address text ⇄ bytes without allocation-heavy helpers. IPv6 text is produced exactly as libuv's
 * inet_ntop does (RFC 5952 compression plus the ISC embedded-IPv4 rule), because the relay compares
 * addresses decoded from XOR-PEER-ADDRESS with the `rinfo.address` strings Node hands to 'message'.
 */

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or -1 when `text` is not one. */
export function parseIpv4(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57) {
      // No leading zeros ("010" is octal to some parsers): refuse ambiguity.
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (code - 48);
      digits++;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Parses IPv4 or IPv6 text (a `%zone` suffix is ignored) into 4 or 16 bytes, or null. */
export function parseIp(text: string): Uint8Array | null {
  const v4 = parseIpv4(text);
  if (v4 >= 0) {
    const bytes = new Uint8Array(4);
    bytes[0] = v4 >>> 24;
    bytes[1] = (v4 >>> 16) & 0xff;
    bytes[2] = (v4 >>> 8) & 0xff;
    bytes[3] = v4 & 0xff;
    return bytes;
  }
  return parseIpv6(text);
}

function parseIpv6(input: string): Uint8Array | null {
  const zone = input.indexOf("%");
  const text = zone === -1 ? input : input.slice(0, zone);
  if (text.length < 2 || text.length > 45) return null;
  const words: number[] = [];
  let compressAt = -1;
  let i = 0;
  if (text.startsWith("::")) {
    compressAt = 0;
    i = 2;
  } else if (text.startsWith(":")) {
    return null;
  }
  while (i < text.length) {
    const next = text.indexOf(":", i);
    const part = next === -1 ? text.slice(i) : text.slice(i, next);
    if (part.includes(".")) {
      // Embedded IPv4 must be the last part.
      if (next !== -1) return null;
      const v4 = parseIpv4(part);
      if (v4 < 0) return null;
      words.push(v4 >>> 16, v4 & 0xffff);
      i = text.length;
      break;
    }
    if (part.length === 0 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return null;
    words.push(Number.parseInt(part, 16));
    if (next === -1) {
      i = text.length;
      break;
    }
    if (text.charCodeAt(next + 1) === 58) {
      if (compressAt !== -1) return null;
      compressAt = words.length;
      i = next + 2;
    } else {
      i = next + 1;
      if (i === text.length) return null;
    }
  }
  if (compressAt === -1 ? words.length !== 8 : words.length > 7) return null;
  const bytes = new Uint8Array(16);
  const tail = compressAt === -1 ? 0 : words.length - compressAt;
  for (let w = 0; w < words.length; w++) {
    const slot = compressAt !== -1 && w >= compressAt ? 8 - tail + (w - compressAt) : w;
    const word = words[w]!;
    bytes[slot * 2] = word >>> 8;
    bytes[slot * 2 + 1] = word & 0xff;
  }
  return bytes;
}

/** Formats 4 bytes at `offset` as dotted-quad. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Formats 16 bytes at `offset` as IPv6 text identical to libuv's uv_inet_ntop (what Node's rinfo shows). */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const words = new Array<number>(8);
  for (let w = 0; w < 8; w++) words[w] = (bytes[offset + w * 2]! << 8) | bytes[offset + w * 2 + 1]!;
  let bestBase = -1;
  let bestLength = 0;
  let currentBase = -1;
  let currentLength = 0;
  for (let w = 0; w < 8; w++) {
    if (words[w] === 0) {
      if (currentBase === -1) {
        currentBase = w;
        currentLength = 1;
      } else {
        currentLength++;
      }
    } else if (currentBase !== -1) {
      if (bestBase === -1 || currentLength > bestLength) {
        bestBase = currentBase;
        bestLength = currentLength;
      }
      currentBase = -1;
    }
  }
  if (currentBase !== -1 && (bestBase === -1 || currentLength > bestLength)) {
    bestBase = currentBase;
    bestLength = currentLength;
  }
  if (bestBase !== -1 && bestLength < 2) bestBase = -1;
  let text = "";
  for (let w = 0; w < 8; w++) {
    if (bestBase !== -1 && w >= bestBase && w < bestBase + bestLength) {
      if (w === bestBase) text += ":";
      continue;
    }
    if (w !== 0) text += ":";
    // ISC rule kept by libuv: ::a.b.c.d (compatible, not ::1) and ::ffff:a.b.c.d (mapped) embed IPv4.
    if (
      w === 6 &&
      bestBase === 0 &&
      (bestLength === 6 || (bestLength === 7 && words[7] !== 0x0001) || (bestLength === 5 && words[5] === 0xffff))
    ) {
      text += formatIpv4(bytes, offset + 12);
      return text;
    }
    text += words[w]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLength === 8) text += ":";
  return text;
}

/** Formats 4 or 16 bytes as IP text. */
export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** Canonical text for any IP text (so "0:0::1" and "::1" compare equal), or null when not an IP. */
export function canonicalIp(text: string): string | null {
  const bytes = parseIp(text);
  return bytes ? formatIp(bytes) : null;
}

/**
 * Strips the IPv4-mapped prefix a dual-stack ("::") socket puts on IPv4 clients, so such a client is
 * treated (and reported in XOR-MAPPED-ADDRESS) as the IPv4 host it is.
 */
export function unmapIpv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** 4 or 6 for IP text (after unmapping), 0 when not an IP. */
export function ipFamily(address: string): 0 | 4 | 6 {
  if (parseIpv4(address) >= 0) return 4;
  return parseIpv6(address) ? 6 : 0;
}
