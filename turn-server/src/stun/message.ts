/**
 * STUN message decoding (RFC 8489 §5–§6, §14, §15). Attributes are indexed (type, offset, length) into
 * the message bytes and read on demand, so decoding allocates one small array and no value copies.
 */
import { isComprehensionRequired, isUnderstood } from "./attributes.ts";
import { Attr, HEADER_LENGTH, MAGIC_COOKIE } from "./constants.ts";
import { computeFingerprint } from "./fingerprint.ts";
import { decodeXorAddress, type TransportAddress } from "./xor-address.ts";

/** One attribute: its type and where its value lies in `StunMessage.raw`. */
export interface StunAttribute {
  type: number;
  offset: number;
  length: number;
}

/** A decoded STUN message; values are read from `raw` with the helpers below. */
export interface StunMessage {
  /** The message bytes (exactly header + length). */
  raw: Buffer;
  method: number;
  messageClass: number;
  /** 12-byte view into `raw`. */
  transactionId: Buffer;
  /** Attributes in order, excluding MESSAGE-INTEGRITY(-SHA256), FINGERPRINT and anything RFC 8489 §14.5 says to ignore. */
  attributes: StunAttribute[];
  /** MESSAGE-INTEGRITY (HMAC-SHA1), when present. */
  integrity: StunAttribute | null;
  /** MESSAGE-INTEGRITY-SHA256, when present. */
  integritySha256: StunAttribute | null;
  /** A FINGERPRINT was present (and verified). */
  hasFingerprint: boolean;
  /** Comprehension-required attribute types the server does not understand (→ 420). */
  unknownRequired: number[];
  /** Attribute framing was broken: answer a request with 400 (RFC 8489 §6.3). */
  malformed: boolean;
}

/** RFC 8489 §5: the 14-bit type interleaves the method (M0–M11) and class (C0, C1) bits. */
export function decodeMessageType(type: number): { method: number; messageClass: number } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const messageClass = ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7);
  return { method, messageClass };
}

/** Inverse of decodeMessageType. */
export function encodeMessageType(method: number, messageClass: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((messageClass & 1) << 4) | ((messageClass & 2) << 7);
}

/** True when `data` starts like a STUN message (first two bits 0 and the magic cookie, RFC 8489 §6.3). */
export function looksLikeStun(data: Uint8Array, offset = 0, length = data.length - offset): boolean {
  return (
    length >= HEADER_LENGTH &&
    (data[offset]! & 0xc0) === 0 &&
    data[offset + 4] === 0x21 &&
    data[offset + 5] === 0x12 &&
    data[offset + 6] === 0xa4 &&
    data[offset + 7] === 0x42
  );
}

/**
 * Decodes one whole STUN message. Returns null for anything that is not a valid STUN message (wrong
 * header, length not matching, bad FINGERPRINT): RFC 8489 §6.3 says to discard those silently.
 */
export function decodeStunMessage(data: Buffer): StunMessage | null {
  if (!looksLikeStun(data)) return null;
  const length = data.readUInt16BE(2);
  if ((length & 3) !== 0 || HEADER_LENGTH + length !== data.length) return null;
  if (data.readUInt32BE(4) !== MAGIC_COOKIE) return null;
  const { method, messageClass } = decodeMessageType(data.readUInt16BE(0));
  const message: StunMessage = {
    raw: data,
    method,
    messageClass,
    transactionId: data.subarray(8, HEADER_LENGTH),
    attributes: [],
    integrity: null,
    integritySha256: null,
    hasFingerprint: false,
    unknownRequired: [],
    malformed: false,
  };
  const end = data.length;
  let position = HEADER_LENGTH;
  while (position < end) {
    if (position + 4 > end || message.hasFingerprint) {
      message.malformed = true;
      break;
    }
    const type = data.readUInt16BE(position);
    const valueLength = data.readUInt16BE(position + 2);
    const valueOffset = position + 4;
    const next = valueOffset + ((valueLength + 3) & ~3);
    if (next > end) {
      message.malformed = true;
      break;
    }
    if (type === Attr.Fingerprint) {
      // §14.7: the last attribute; a wrong value means "not STUN" (discard).
      if (valueLength !== 4 || next !== end) return null;
      if (data.readUInt32BE(valueOffset) !== computeFingerprint(data, position)) return null;
      message.hasFingerprint = true;
    } else if (message.integritySha256) {
      // §14.6: only FINGERPRINT may follow MESSAGE-INTEGRITY-SHA256; anything else is ignored.
    } else if (type === Attr.MessageIntegritySha256) {
      if (valueLength < 16 || valueLength > 32 || (valueLength & 3) !== 0) message.malformed = true;
      message.integritySha256 = { type, offset: valueOffset, length: valueLength };
    } else if (message.integrity) {
      // §14.5: attributes after MESSAGE-INTEGRITY (other than the two above) are ignored.
    } else if (type === Attr.MessageIntegrity) {
      if (valueLength !== 20) message.malformed = true;
      message.integrity = { type, offset: valueOffset, length: valueLength };
    } else {
      message.attributes.push({ type, offset: valueOffset, length: valueLength });
      if (isComprehensionRequired(type) && !isUnderstood(type)) message.unknownRequired.push(type);
    }
    position = next;
  }
  return message;
}

/** The first attribute of `type`, or undefined. */
export function findAttribute(message: StunMessage, type: number): StunAttribute | undefined {
  for (const attribute of message.attributes) if (attribute.type === type) return attribute;
  return undefined;
}

/** Every attribute of `type`, in order (CreatePermission may carry several XOR-PEER-ADDRESS). */
export function findAttributes(message: StunMessage, type: number): StunAttribute[] {
  return message.attributes.filter((attribute) => attribute.type === type);
}

/** A UTF-8 attribute value (USERNAME, REALM, NONCE, SOFTWARE), or undefined when absent. */
export function readString(message: StunMessage, type: number): string | undefined {
  const attribute = findAttribute(message, type);
  return attribute ? message.raw.toString("utf8", attribute.offset, attribute.offset + attribute.length) : undefined;
}

/** A 32-bit attribute value (LIFETIME), undefined when absent, null when malformed. */
export function readUint32(message: StunMessage, type: number): number | null | undefined {
  const attribute = findAttribute(message, type);
  if (!attribute) return undefined;
  return attribute.length === 4 ? message.raw.readUInt32BE(attribute.offset) : null;
}

/** The raw value bytes of an attribute (a view), or undefined. */
export function readBytes(message: StunMessage, type: number): Buffer | undefined {
  const attribute = findAttribute(message, type);
  return attribute ? message.raw.subarray(attribute.offset, attribute.offset + attribute.length) : undefined;
}

/** Decodes an XOR address attribute, or null when malformed. */
export function readXorAddress(message: StunMessage, attribute: StunAttribute): TransportAddress | null {
  return decodeXorAddress(message.raw, attribute.offset, attribute.length);
}
