/**
 * MESSAGE-INTEGRITY (RFC 8489 §14.5, HMAC-SHA1, 20 bytes) and MESSAGE-INTEGRITY-SHA256 (§14.6,
 * HMAC-SHA256, 16–32 bytes, possibly truncated), and the long-term credential key (§9.2.2).
 * The HMAC covers the message up to the attribute, with the header length adjusted to end at it.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Which HMAC a message is signed with. */
export type IntegrityAlgorithm = "sha1" | "sha256";

/** RFC 8489 §9.2.2 (MD5 algorithm, the default): key = MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash("md5").update(`${username}:${realm}:${password}`, "utf8").digest();
}

/**
 * HMAC over `message[0..attributeStart)` with the header length set to end after an attribute of
 * `valueLength` bytes that starts at `attributeStart`.
 */
export function computeIntegrity(
  algorithm: IntegrityAlgorithm,
  key: Uint8Array,
  message: Uint8Array,
  attributeStart: number,
  valueLength: number,
): Buffer {
  const header = Buffer.from(message.subarray(0, 4));
  header.writeUInt16BE(attributeStart - 20 + 4 + valueLength, 2);
  return createHmac(algorithm, key).update(header).update(message.subarray(4, attributeStart)).digest();
}

/** Checks an integrity attribute whose value is at `valueOffset` (length `valueLength`) in `message`. */
export function verifyIntegrity(
  algorithm: IntegrityAlgorithm,
  key: Uint8Array,
  message: Uint8Array,
  valueOffset: number,
  valueLength: number,
): boolean {
  const mac = computeIntegrity(algorithm, key, message, valueOffset - 4, valueLength);
  // §14.6: SHA256 values may be truncated to 16..32 bytes; compare the prefix in constant time.
  const expected = valueLength === mac.length ? mac : mac.subarray(0, valueLength);
  if (expected.length !== valueLength) return false;
  return timingSafeEqual(expected, message.subarray(valueOffset, valueOffset + valueLength));
}
