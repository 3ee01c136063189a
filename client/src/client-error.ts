/** The one error type the client library reports: a machine-readable code plus a sentence for people. */
import type { ErrorCode } from "../../protocol/errors.ts";

/** Codes the client adds to the protocol's: transport failures it detects itself. */
export type ClientErrorCode = ErrorCode | "network" | "closed" | "kicked" | "room_closed" | "replaced" | "abuse" | "ice_failed";

/**
 * An error with a `code` (protocol or client code), an optional HTTP `status`, a human `message`, and
 * `fatal` when the client gave up because of it (token refused, room full, kicked) instead of retrying.
 */
export class SwitchboardError extends Error {
  readonly code: ClientErrorCode;
  readonly status: number | undefined;
  readonly fatal: boolean;

  constructor(code: ClientErrorCode, message: string, options: { status?: number; fatal?: boolean } = {}) {
    super(message);
    this.name = "SwitchboardError";
    this.code = code;
    this.status = options.status;
    this.fatal = options.fatal ?? false;
  }
}

/** Reads an RFC 9457 problem answer into a SwitchboardError (falls back to the status line). */
export async function errorFromResponse(response: Response, fallbackCode: ClientErrorCode, fatal = false): Promise<SwitchboardError> {
  let code: ClientErrorCode = fallbackCode;
  let message = `HTTP ${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { code?: unknown; detail?: unknown; title?: unknown };
    if (typeof body.code === "string") code = body.code as ClientErrorCode;
    if (typeof body.detail === "string") message = body.detail;
    else if (typeof body.title === "string") message = body.title;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the status line is all there is.
  }
  return new SwitchboardError(code, message, { status: response.status, fatal });
}
