/** Sending and closing on room sockets without letting one broken socket throw into the room. */
import { ErrorCode } from "../../protocol/errors.ts";
import { type ErrorDetails, errorFrame } from "./frames.ts";

/** Accepts a socket only to explain the refusal (browsers cannot read an HTTP error on an upgrade), then closes it. */
export function refuseConnection(
  client: WebSocket,
  server: WebSocket,
  code: ErrorCode,
  message: string,
  closeCode: number,
  resumeFailure?: string,
): Response {
  server.accept();
  if (resumeFailure !== undefined) server.send(errorFrame(ErrorCode.resumeFailed, resumeFailure));
  server.send(errorFrame(code, message));
  server.close(closeCode, message.slice(0, 120));
  return new Response(null, { status: 101, webSocket: client });
}

/** Sends an `error` frame (a refusal that keeps the connection). */
export function sendError(ws: WebSocket, code: ErrorCode, message: string, details?: ErrorDetails): void {
  sendQuietly(ws, errorFrame(code, message, details));
}

/** Sends a frame; a socket that is already closing is left to its close event (or the sweep). */
export function sendQuietly(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket is closing; its close event (or the sweep) handles the peer.
  }
}

/** Closes a socket with `code`; closing an already closed socket is not an error. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120)); // RFC 6455 §5.5: a close reason fits in 123 bytes
  } catch {
    // Already closed.
  }
}
