/**
 * Binding (RFC 8489 §6.3.1, the STUN service): answers with the client's address as seen here in
 * XOR-MAPPED-ADDRESS. Unauthenticated, as browsers and turnutils_stunclient expect of a STUN server.
 */
import { Attr } from "../stun/constants.ts";
import { parseIp } from "../stun/ip.ts";
import type { StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { ServerContext } from "./context.ts";
import { sendSuccess } from "./respond.ts";

/** Handles a Binding request. */
export function handleBinding(context: ServerContext, connection: ClientConnection, request: StunMessage): void {
  const ip = parseIp(connection.remoteAddress);
  sendSuccess(context, connection, request, null, (builder) => {
    if (ip !== null) builder.addXorAddress(Attr.XorMappedAddress, ip, connection.remotePort);
  });
}
