/** What a transport hands the server: whole frames per 5-tuple, connection ends, errors. */
import type { ClientConnection } from "./connection.ts";

/** The server side of every transport. */
export interface TransportSink {
  /** One whole STUN message (header + length bytes) from `connection`. */
  onStun(connection: ClientConnection, message: Buffer): void;
  /** One ChannelData frame at `data[offset..offset+length)` from a 5-tuple that has an allocation. */
  onChannelData(connection: ClientConnection, data: Buffer, offset: number, length: number): void;
  /** A datagram or frame that was thrown away before reaching a handler. */
  onDropped(): void;
  /** A stream connection closed (its allocation, if any, ends). */
  onClosed(connection: ClientConnection): void;
  /** An error caught at a transport's error boundary. */
  onError(where: string, error: unknown): void;
}
