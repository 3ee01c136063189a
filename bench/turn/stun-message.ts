/**
 * A minimal STUN message encoder/decoder for the benchmark's own clients (Binding probe, Allocate).
 * Self-contained on purpose: the load client must not share code with the relay it measures.
 * RFC 8489 §5 (header), §14 (attributes), §14.5 (MESSAGE-INTEGRITY), §14.7 (FINGERPRINT); RFC 8656 §18.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/** RFC 8489 §5: fixed magic cookie in bytes 4–7 of every message. */
const MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §14.7: the CRC-32 is XOR-ed with this so STUN and other protocols' CRCs differ. */
const FINGERPRINT_XOR = 0x5354554e;
const HEADER_LENGTH = 20;

/** Message types used by the benchmark (method | class bits, RFC 8489 §5, RFC 8656 §17). */
export const MessageType = {
  bindingRequest: 0x0001,
  bindingSuccess: 0x0101,
  allocateRequest: 0x0003,
  allocateSuccess: 0x0103,
  allocateError: 0x0113,
  refreshRequest: 0x0004,
  refreshSuccess: 0x0104,
} as const;

/** Attribute types used by the benchmark. */
export const AttributeType = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
  fingerprint: 0x8028,
} as const;

/** One attribute as type and raw value (unpadded). */
export interface StunAttribute {
  type: number;
  value: Buffer;
}

/** A decoded message: enough to match transactions and read error codes, realm and nonce. */
export interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
}

/** Long-term credential key, RFC 8489 §9.2.2: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash("md5").update(`${username}:${realm}:${password}`).digest();
}

/** A fresh 96-bit transaction id (RFC 8489 §5). */
export function newTransactionId(): Buffer {
  return randomBytes(12);
}

/** Options of encodeMessage: integrity is added when a key is given, FINGERPRINT always last. */
export interface EncodeOptions {
  type: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
  integrityKey?: Buffer;
}

/** Encodes a message; appends MESSAGE-INTEGRITY (when keyed) and FINGERPRINT with the length fixups of RFC 8489 §14.5/§14.7. */
export function encodeMessage(options: EncodeOptions): Buffer {
  const parts: Buffer[] = [];
  for (const attribute of options.attributes) parts.push(encodeAttribute(attribute.type, attribute.value));
  let body = Buffer.concat(parts);
  if (options.integrityKey) {
    // The length field covers the MESSAGE-INTEGRITY attribute itself (4 + 20 bytes) while hashing.
    const header = encodeHeader(options.type, body.length + 24, options.transactionId);
    const hmac = createHmac("sha1", options.integrityKey).update(header).update(body).digest();
    body = Buffer.concat([body, encodeAttribute(AttributeType.messageIntegrity, hmac)]);
  }
  const header = encodeHeader(options.type, body.length + 8, options.transactionId);
  const crc = (crc32(Buffer.concat([header, body])) ^ FINGERPRINT_XOR) >>> 0;
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE(crc, 0);
  return Buffer.concat([header, body, encodeAttribute(AttributeType.fingerprint, fingerprint)]);
}

/** Decodes a STUN message, or returns null for anything that is not one (e.g. ChannelData). */
export function decodeMessage(data: Buffer): StunMessage | null {
  if (data.length < HEADER_LENGTH || (data[0]! & 0xc0) !== 0) return null;
  if (data.readUInt32BE(4) !== MAGIC_COOKIE) return null;
  const length = data.readUInt16BE(2);
  if (HEADER_LENGTH + length > data.length) return null;
  const attributes: StunAttribute[] = [];
  let offset = HEADER_LENGTH;
  const end = HEADER_LENGTH + length;
  while (offset + 4 <= end) {
    const type = data.readUInt16BE(offset);
    const valueLength = data.readUInt16BE(offset + 2);
    if (offset + 4 + valueLength > end) return null;
    attributes.push({ type, value: data.subarray(offset + 4, offset + 4 + valueLength) });
    offset += 4 + valueLength + ((4 - (valueLength % 4)) % 4);
  }
  return { type: data.readUInt16BE(0), transactionId: data.subarray(8, 20), attributes };
}

/** The first attribute of a type, or undefined. */
export function findAttribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((attribute) => attribute.type === type)?.value;
}

/** ERROR-CODE as a number (class × 100 + number, RFC 8489 §14.8), or undefined. */
export function errorCodeOf(message: StunMessage): number | undefined {
  const value = findAttribute(message, AttributeType.errorCode);
  if (!value || value.length < 4) return undefined;
  return (value[2]! & 0x07) * 100 + value[3]!;
}

/** A UTF-8 attribute value (USERNAME, REALM, NONCE). */
export function textAttribute(type: number, text: string): StunAttribute {
  return { type, value: Buffer.from(text, "utf8") };
}

/** REQUESTED-TRANSPORT for UDP (protocol 17, RFC 8656 §18.7). */
export function requestedTransportUdp(): StunAttribute {
  return { type: AttributeType.requestedTransport, value: Buffer.from([17, 0, 0, 0]) };
}

/** LIFETIME in seconds (RFC 8656 §18.2). */
export function lifetimeAttribute(seconds: number): StunAttribute {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(seconds, 0);
  return { type: AttributeType.lifetime, value };
}

function encodeHeader(type: number, length: number, transactionId: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return header;
}

function encodeAttribute(type: number, value: Buffer): Buffer {
  const padding = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + padding);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}
