/** ERROR-CODE (RFC 8489 §14.8) and the reason phrases of RFC 8489 §14.8 and RFC 8656 §18. */

/** Error codes this server sends. */
export type StunErrorCode = 300 | 400 | 401 | 403 | 420 | 437 | 438 | 440 | 441 | 442 | 443 | 486 | 500 | 508;

/** Default reason phrase per code. */
export const ERROR_REASONS: Record<StunErrorCode, string> = {
  300: "Try Alternate",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  420: "Unknown Attribute",
  437: "Allocation Mismatch",
  438: "Stale Nonce",
  440: "Address Family not Supported",
  441: "Wrong Credentials",
  442: "Unsupported Transport Protocol",
  443: "Peer Address Family Mismatch",
  486: "Allocation Quota Reached",
  500: "Server Error",
  508: "Insufficient Capacity",
};

/** Encodes an ERROR-CODE value: 21 zero bits, class (hundreds), number (0–99), UTF-8 reason. */
export function encodeErrorCode(code: number, reason: string): Uint8Array {
  const text = Buffer.from(reason, "utf8");
  const value = new Uint8Array(4 + text.length);
  value[2] = Math.floor(code / 100) & 0x07;
  value[3] = code % 100;
  value.set(text, 4);
  return value;
}

/** Decodes an ERROR-CODE value into code and reason, or null when malformed. */
export function decodeErrorCode(raw: Uint8Array, offset: number, length: number): { code: number; reason: string } | null {
  if (length < 4) return null;
  const hundreds = raw[offset + 2]! & 0x07;
  const number = raw[offset + 3]!;
  if (hundreds < 3 || hundreds > 6 || number > 99) return null;
  const reason = Buffer.from(raw.buffer, raw.byteOffset + offset + 4, length - 4).toString("utf8");
  return { code: hundreds * 100 + number, reason };
}
