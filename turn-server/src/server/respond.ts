/**
 * Building and sending responses (RFC 8489 §6.3): same method and transaction id, SOFTWARE, then
 * MESSAGE-INTEGRITY with the request's algorithm when the request was authenticated (RFC 8489 §9.2.4),
 * and FINGERPRINT when the request carried one.
 */

import { StunMessageBuilder } from "../stun/builder.ts";
import { Attr, MessageClass } from "../stun/constants.ts";
import { ERROR_REASONS, type StunErrorCode } from "../stun/error-code.ts";
import type { IntegrityAlgorithm } from "../stun/integrity.ts";
import type { StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { ServerContext } from "./context.ts";

/** The key and algorithm a response is signed with. */
export interface Signing {
  key: Uint8Array;
  algorithm: IntegrityAlgorithm;
}

/** A builder for the answer to `request`. */
export function responseBuilder(request: StunMessage, success: boolean): StunMessageBuilder {
  return new StunMessageBuilder(request.method, success ? MessageClass.SuccessResponse : MessageClass.ErrorResponse, request.transactionId);
}

/** Adds SOFTWARE, integrity and fingerprint, encodes. */
export function finishResponse(context: ServerContext, request: StunMessage, builder: StunMessageBuilder, signing: Signing | null): Buffer {
  builder.addString(Attr.Software, context.options.software);
  return builder.finish({
    ...(signing ? { integrity: { key: signing.key, algorithm: signing.algorithm } } : {}),
    fingerprint: request.hasFingerprint,
  });
}

/** Sends an error response with `code`; `extend` adds attributes (REALM, NONCE, UNKNOWN-ATTRIBUTES, ...). */
export function sendError(
  context: ServerContext,
  connection: ClientConnection,
  request: StunMessage,
  code: StunErrorCode,
  signing: Signing | null,
  extend?: (builder: StunMessageBuilder) => void,
  reason: string = ERROR_REASONS[code],
): void {
  const builder = responseBuilder(request, false).addErrorCode(code, reason);
  extend?.(builder);
  connection.send(finishResponse(context, request, builder, signing));
}

/** Sends a success response; `extend` adds the method's attributes. Returns the bytes (Allocate keeps them). */
export function sendSuccess(
  context: ServerContext,
  connection: ClientConnection,
  request: StunMessage,
  signing: Signing | null,
  extend?: (builder: StunMessageBuilder) => void,
): Buffer {
  const builder = responseBuilder(request, true);
  extend?.(builder);
  const response = finishResponse(context, request, builder, signing);
  connection.send(response);
  return response;
}
