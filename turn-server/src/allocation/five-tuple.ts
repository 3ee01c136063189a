/**
 * The 5-tuple (RFC 8656 §2): client address and port, server address and port, transport. It names an
 * allocation; as one string, computed once per connection, it is the allocation table's key.
 */
import type { ClientTransport } from "../handlers.ts";

/** The 5-tuple of a client connection as a table key. */
export function fiveTupleKey(
  transport: ClientTransport,
  localAddress: string,
  localPort: number,
  remoteAddress: string,
  remotePort: number,
): string {
  return `${transport}|${localAddress}|${localPort}|${remoteAddress}|${remotePort}`;
}
