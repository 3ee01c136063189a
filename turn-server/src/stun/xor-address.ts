/**
 * Address attributes (RFC 8489 §14.1 MAPPED-ADDRESS, §14.2 XOR-MAPPED-ADDRESS; RFC 8656 §14.3
 * XOR-PEER-ADDRESS, §14.5 XOR-RELAYED-ADDRESS): family, port and address, the XOR forms obfuscated with
 * the magic cookie (and, for IPv6, the transaction id) so NATs that rewrite addresses in payloads miss them.
 */
import { FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE } from "./constants.ts";
import { formatIpv4, formatIpv6 } from "./ip.ts";

/** A decoded transport address. */
export interface TransportAddress {
  address: string;
  port: number;
  family: 4 | 6;
}

const COOKIE_BYTES = new Uint8Array([0x21, 0x12, 0xa4, 0x42]);
/** Scratch for de-XORed IPv6 bytes (decode is synchronous; no allocation per call). */
const scratch = new Uint8Array(16);

/**
 * Decodes an XOR address whose value starts at `offset` in `raw` (a whole STUN message, whose bytes
 * 4–19 are cookie and transaction id). Returns null when malformed.
 */
export function decodeXorAddress(raw: Uint8Array, offset: number, length: number): TransportAddress | null {
  if (length < 8) return null;
  const family = raw[offset + 1];
  const port = ((raw[offset + 2]! << 8) | raw[offset + 3]!) ^ (MAGIC_COOKIE >>> 16);
  if (family === FAMILY_IPV4) {
    if (length !== 8) return null;
    for (let i = 0; i < 4; i++) scratch[i] = raw[offset + 4 + i]! ^ COOKIE_BYTES[i]!;
    return { address: formatIpv4(scratch), port, family: 4 };
  }
  if (family === FAMILY_IPV6) {
    if (length !== 20) return null;
    // Key: cookie then transaction id = bytes 4..19 of the message.
    for (let i = 0; i < 16; i++) scratch[i] = raw[offset + 4 + i]! ^ raw[4 + i]!;
    return { address: formatIpv6(scratch), port, family: 6 };
  }
  return null;
}

/** Decodes a plain (non-XOR) address attribute such as MAPPED-ADDRESS or ALTERNATE-SERVER. */
export function decodePlainAddress(raw: Uint8Array, offset: number, length: number): TransportAddress | null {
  if (length < 8) return null;
  const family = raw[offset + 1];
  const port = (raw[offset + 2]! << 8) | raw[offset + 3]!;
  if (family === FAMILY_IPV4 && length === 8) return { address: formatIpv4(raw, offset + 4), port, family: 4 };
  if (family === FAMILY_IPV6 && length === 20) return { address: formatIpv6(raw, offset + 4), port, family: 6 };
  return null;
}

/** Bytes of an address attribute value for `ip` (4 or 16 bytes): 8 or 20. */
export function addressValueLength(ip: Uint8Array): number {
  return ip.length === 4 ? 8 : 20;
}

/**
 * Writes an XOR address value at `offset` of `target`, a message whose header (cookie and transaction
 * id, bytes 4–19) is already written.
 */
export function writeXorAddress(target: Uint8Array, offset: number, ip: Uint8Array, port: number): void {
  target[offset] = 0;
  target[offset + 1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const xport = port ^ (MAGIC_COOKIE >>> 16);
  target[offset + 2] = xport >>> 8;
  target[offset + 3] = xport & 0xff;
  for (let i = 0; i < ip.length; i++) target[offset + 4 + i] = ip[i]! ^ target[4 + i]!;
}

/** Writes a plain address value (MAPPED-ADDRESS, ALTERNATE-SERVER) at `offset`. */
export function writePlainAddress(target: Uint8Array, offset: number, ip: Uint8Array, port: number): void {
  target[offset] = 0;
  target[offset + 1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  target[offset + 2] = port >>> 8;
  target[offset + 3] = port & 0xff;
  target.set(ip, offset + 4);
}
