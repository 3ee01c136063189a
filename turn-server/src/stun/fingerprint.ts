/**
 * FINGERPRINT (RFC 8489 §14.7): CRC-32 (ISO HDLC, as zlib) of the message up to the attribute, XOR
 * 0x5354554e, computed with the header length already counting the FINGERPRINT attribute.
 */
import { crc32 } from "node:zlib";
import { FINGERPRINT_XOR } from "./constants.ts";

const header = Buffer.alloc(4);

/**
 * Fingerprint of `message[0..attributeStart)` as if the header length were `attributeStart - 20 + 8`.
 * `message` must have a valid 20-byte header.
 */
export function computeFingerprint(message: Uint8Array, attributeStart: number): number {
  // Only bytes 2–3 (length) differ from the wire; hash type+length from a scratch copy, then the rest.
  header[0] = message[0]!;
  header[1] = message[1]!;
  header.writeUInt16BE(attributeStart - 20 + 8, 2);
  const head = crc32(header);
  const rest = crc32(Buffer.from(message.buffer, message.byteOffset + 4, attributeStart - 4), head);
  return (rest ^ FINGERPRINT_XOR) >>> 0;
}
