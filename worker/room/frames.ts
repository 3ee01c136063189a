/**
 * Inbound frame validation (in the order a refusal is decided: binary, size, JSON, schema) and outbound
 * frame text. Every refusal is a value with the protocol's error code; nothing here throws.
 */
import { ErrorCode } from "../../protocol/errors.ts";
import { type BroadcastMessage, ClientMessage, ClientSeq, type DurableServerMessage, type ErrorMessage } from "../../protocol/messages.ts";

/** A refused inbound frame: the code and sentence of the `error` frame sent back. */
export interface FrameRefusal {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The refused frame's cseq, when it parsed as JSON and carried a valid one (the refusal answers that frame). */
  cseq?: number | undefined;
}

/** The outcome of checking one inbound frame. */
export type FrameCheck = { ok: true; message: ClientMessage } | FrameRefusal;

/** Message types a client may send, for naming an unknown one. */
const CLIENT_TYPES: ReadonlySet<string> = new Set(ClientMessage.options.map((option) => option.shape.type.value));

/** UTF-8 length of `text` without allocating (WebSocket limits are in bytes, JS lengths in UTF-16 units). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      bytes += 4; // a surrogate pair is one 4-byte code point
      index++;
    } else bytes += 3;
  }
  return bytes;
}

/** True when `text` is longer than `maxBytes` in UTF-8; exact, but counts bytes only when the length is ambiguous. */
export function exceedsBytes(text: string, maxBytes: number): boolean {
  // UTF-8 bytes ≥ UTF-16 units, and ≤ 3 per unit: most frames are decided without counting.
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return utf8Length(text) > maxBytes;
}

function refusal(code: ErrorCode, message: string, cseq?: number): FrameRefusal {
  return cseq === undefined ? { ok: false, code, message } : { ok: false, code, message, cseq };
}

/** The cseq of a parsed frame, if it carries a valid one (also for frames the schema refuses). */
function cseqOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const cseq = (value as { cseq?: unknown }).cseq;
  return ClientSeq.safeParse(cseq).success ? (cseq as number) : undefined;
}

/** The cseq a valid client frame carries, if any. */
export function clientSeqOf(message: ClientMessage): number | undefined {
  return "cseq" in message ? message.cseq : undefined;
}

/**
 * The cseq of a frame refused before it was parsed (rate limit), so the refusal can name it and the client can
 * send it again. Parses only on that refusal path, which the abuse limit bounds (refusals.ts).
 */
export function peekClientSeq(raw: string | ArrayBuffer, maxFrameBytes: number): number | undefined {
  if (typeof raw !== "string" || exceedsBytes(raw, maxFrameBytes)) return undefined;
  try {
    return cseqOf(JSON.parse(raw));
  } catch {
    return undefined;
  }
}

/** Checks one inbound frame: size is checked before JSON.parse so an oversized frame is never parsed. */
export function checkClientFrame(raw: string | ArrayBuffer, maxFrameBytes: number): FrameCheck {
  if (typeof raw !== "string") {
    return refusal(ErrorCode.binaryNotSupported, "binary frames are not supported; send JSON text frames");
  }
  if (exceedsBytes(raw, maxFrameBytes)) {
    return refusal(ErrorCode.tooLarge, `frame is larger than the ${maxFrameBytes}-byte limit`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return refusal(ErrorCode.badJson, "frame is not valid JSON");
  }
  const parsed = ClientMessage.safeParse(value);
  if (!parsed.success) return refusal(ErrorCode.badMessage, describeSchemaProblem(value, parsed.error.issues), cseqOf(value));
  const message = parsed.data;
  if (message.type === "broadcast" && message.ephemeral === true && message.cseq !== undefined) {
    // Ephemeral frames are never retained nor re-sent, so they take no place in the cseq order.
    return refusal(ErrorCode.badMessage, "invalid broadcast message: an ephemeral broadcast carries no cseq", message.cseq);
  }
  return { ok: true, message };
}

function describeSchemaProblem(value: unknown, issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "frame must be a JSON object with a `type`";
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") return "frame has no string `type`";
  if (!CLIENT_TYPES.has(type)) return `unknown message type ${JSON.stringify(type.slice(0, 64))}`;
  const issue = issues[0];
  if (!issue) return `invalid ${type} message`;
  const path = issue.path.map(String).join(".");
  return `invalid ${type} message: ${path ? `${path}: ` : ""}${issue.message}`;
}

/** Facts an `error` frame may add: the cseq of the frame it answers, and on `out_of_order` what was processed. */
export interface ErrorDetails {
  cseq?: number | undefined;
  lastClientSeq?: number | undefined;
}

/** The text of an `error` frame. */
export function errorFrame(code: ErrorCode, message: string, details?: ErrorDetails): string {
  const frame: ErrorMessage = { type: "error", code, message };
  if (details?.cseq !== undefined) frame.cseq = details.cseq;
  if (details?.lastClientSeq !== undefined) frame.lastClientSeq = details.lastClientSeq;
  return JSON.stringify(frame);
}

/** The text of a `client-ack` frame (ephemeral: no seq, never retained). */
export function clientAckFrame(cseq: number): string {
  return `{"type":"client-ack","cseq":${cseq}}`;
}

/** A durable server frame before its per-recipient seq is known (a broadcast is durable unless ephemeral). */
export type DurableFrameBody =
  | (DurableServerMessage extends infer M ? (M extends DurableServerMessage ? Omit<M, "seq"> : never) : never)
  | Omit<BroadcastMessage, "seq">;

/**
 * Serialises a durable frame once, leaving the seq open: `prefix + seq + "}"` is the frame for one recipient.
 * Fan-out then costs one string concatenation per recipient, not one JSON.stringify.
 */
export function durablePrefix(body: DurableFrameBody): string {
  const text = JSON.stringify(body);
  return `${text.slice(0, -1)},"seq":`;
}

/** The full frame text for one recipient. */
export function withSeq(prefix: string, seq: number): string {
  return `${prefix}${seq}}`;
}
