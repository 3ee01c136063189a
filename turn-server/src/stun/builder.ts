/**
 * STUN message encoding (RFC 8489 §5, §14): attributes are appended into one growing buffer, then
 * MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT are added last, each over the bytes before it (§14.5–§14.7).
 */
import { Attr, HEADER_LENGTH, MAGIC_COOKIE } from "./constants.ts";
import { encodeErrorCode } from "./error-code.ts";
import { computeFingerprint } from "./fingerprint.ts";
import { computeIntegrity, type IntegrityAlgorithm } from "./integrity.ts";
import { encodeMessageType } from "./message.ts";
import { addressValueLength, writePlainAddress, writeXorAddress } from "./xor-address.ts";

/** How to finish a message: integrity key and algorithm, fingerprint. */
export interface FinishOptions {
  integrity?: { key: Uint8Array; algorithm: IntegrityAlgorithm };
  fingerprint?: boolean;
}

/** Builds one STUN message. */
export class StunMessageBuilder {
  private buffer: Buffer;
  private length = HEADER_LENGTH;

  /** Starts a message of `method`/`messageClass` with the given 12-byte transaction id. */
  constructor(method: number, messageClass: number, transactionId: Uint8Array, capacity = 256) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, HEADER_LENGTH));
    this.buffer.writeUInt16BE(encodeMessageType(method, messageClass), 0);
    this.buffer.writeUInt16BE(0, 2);
    this.buffer.writeUInt32BE(MAGIC_COOKIE, 4);
    this.buffer.set(transactionId.subarray(0, 12), 8);
  }

  private reserve(type: number, valueLength: number): number {
    const padded = (valueLength + 3) & ~3;
    const needed = this.length + 4 + padded;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.buffer.writeUInt16BE(type, this.length);
    this.buffer.writeUInt16BE(valueLength, this.length + 2);
    const valueOffset = this.length + 4;
    // RFC 8489 §14: padding bytes are zero (receivers must ignore their value).
    this.buffer.fill(0, valueOffset + valueLength, valueOffset + padded);
    this.length = needed;
    return valueOffset;
  }

  /** Appends an attribute with raw value bytes. */
  addBytes(type: number, value: Uint8Array): this {
    const offset = this.reserve(type, value.length);
    this.buffer.set(value, offset);
    return this;
  }

  /** Appends a UTF-8 string attribute. */
  addString(type: number, value: string): this {
    return this.addBytes(type, Buffer.from(value, "utf8"));
  }

  /** Appends a 32-bit attribute (LIFETIME, REQUESTED-TRANSPORT as 0xPP000000, ...). */
  addUint32(type: number, value: number): this {
    const offset = this.reserve(type, 4);
    this.buffer.writeUInt32BE(value >>> 0, offset);
    return this;
  }

  /** Appends an XOR address (XOR-MAPPED-ADDRESS, XOR-RELAYED-ADDRESS, XOR-PEER-ADDRESS). */
  addXorAddress(type: number, ip: Uint8Array, port: number): this {
    const offset = this.reserve(type, addressValueLength(ip));
    writeXorAddress(this.buffer, offset, ip, port);
    return this;
  }

  /** Appends a plain address (MAPPED-ADDRESS, ALTERNATE-SERVER). */
  addPlainAddress(type: number, ip: Uint8Array, port: number): this {
    const offset = this.reserve(type, addressValueLength(ip));
    writePlainAddress(this.buffer, offset, ip, port);
    return this;
  }

  /** Appends ERROR-CODE. */
  addErrorCode(code: number, reason: string): this {
    return this.addBytes(Attr.ErrorCode, encodeErrorCode(code, reason));
  }

  /** Appends UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): a list of 16-bit types. */
  addUnknownAttributes(types: readonly number[]): this {
    const value = Buffer.allocUnsafe(types.length * 2);
    types.forEach((type, index) => {
      value.writeUInt16BE(type, index * 2);
    });
    return this.addBytes(Attr.UnknownAttributes, value);
  }

  /** Adds integrity and fingerprint as asked, sets the header length, returns the message bytes. */
  finish(options: FinishOptions = {}): Buffer {
    if (options.integrity) {
      const algorithm = options.integrity.algorithm;
      const valueLength = algorithm === "sha1" ? 20 : 32;
      const start = this.length;
      const offset = this.reserve(algorithm === "sha1" ? Attr.MessageIntegrity : Attr.MessageIntegritySha256, valueLength);
      const mac = computeIntegrity(algorithm, options.integrity.key, this.buffer, start, valueLength);
      this.buffer.set(mac, offset);
    }
    if (options.fingerprint) {
      const start = this.length;
      const offset = this.reserve(Attr.Fingerprint, 4);
      this.buffer.writeUInt32BE(computeFingerprint(this.buffer, start), offset);
    }
    this.buffer.writeUInt16BE(this.length - HEADER_LENGTH, 2);
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}
