/**
 * Routes what the transports deliver (pion/turn's server.handleTURNPacket): ChannelData straight to the
 * allocation; STUN requests to one handler per method after the checks every request gets (400 for
 * broken framing, 420 + UNKNOWN-ATTRIBUTES for unknown comprehension-required attributes, RFC 8489
 * §6.3.1); Send indications to the relay; anything else dropped. Asynchronous handlers are caught here:
 * a rejected promise becomes an "internal-error" event, never an unhandled rejection.
 */
import { MessageClass, Method } from "../stun/constants.ts";
import { decodeStunMessage, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { TransportSink } from "../transports/sink.ts";
import { handleAllocate } from "./allocate.ts";
import { handleBinding } from "./binding.ts";
import { handleChannelBind } from "./channel-bind.ts";
import type { ServerContext } from "./context.ts";
import { handleCreatePermission } from "./create-permission.ts";
import { handleRefresh } from "./refresh.ts";
import { sendError } from "./respond.ts";
import { handleSendIndication } from "./send-indication.ts";

type AsyncHandler = (context: ServerContext, connection: ClientConnection, request: StunMessage) => Promise<void>;

const asyncHandlers = new Map<number, AsyncHandler>([
  [Method.Allocate, handleAllocate],
  [Method.Refresh, handleRefresh],
  [Method.CreatePermission, handleCreatePermission],
  [Method.ChannelBind, handleChannelBind],
]);

/** The server's TransportSink. */
export class Dispatcher implements TransportSink {
  private readonly context: ServerContext;

  /** Dispatches into `context`. */
  constructor(context: ServerContext) {
    this.context = context;
  }

  /** ChannelData from a client with an allocation (RFC 8656 §12.6): the client → peer hot path. */
  onChannelData(connection: ClientConnection, data: Buffer, offset: number, length: number): void {
    const allocation = connection.allocation;
    if (allocation === null || length < 4) {
      this.context.counters.droppedPackets++;
      return;
    }
    const channelNumber = (data[offset]! << 8) | data[offset + 1]!;
    const payloadLength = (data[offset + 2]! << 8) | data[offset + 3]!;
    // Over UDP the datagram may carry padding after the payload; less than the declared length is broken.
    if (4 + payloadLength > length) {
      this.context.counters.droppedPackets++;
      return;
    }
    allocation.relayChannelData(channelNumber, data, offset + 4, payloadLength);
  }

  /** One STUN message. */
  onStun(connection: ClientConnection, raw: Buffer): void {
    const context = this.context;
    if (context.closed) return;
    const message = decodeStunMessage(raw);
    if (message === null) {
      context.counters.droppedPackets++;
      return;
    }
    if (message.messageClass === MessageClass.Indication) {
      if (message.method === Method.Send) handleSendIndication(context, connection, message);
      // Binding indications are keepalives (RFC 8489 §6.3.2): nothing to do.
      return;
    }
    if (message.messageClass !== MessageClass.Request) {
      context.counters.droppedPackets++;
      return;
    }
    if (message.malformed) {
      sendError(context, connection, message, 400, null, undefined, "malformed attributes");
      return;
    }
    if (message.unknownRequired.length > 0) {
      const unknown = message.unknownRequired;
      sendError(context, connection, message, 420, null, (builder) => builder.addUnknownAttributes(unknown));
      return;
    }
    if (message.method === Method.Binding) {
      handleBinding(context, connection, message);
      return;
    }
    const handler = asyncHandlers.get(message.method);
    if (handler === undefined) {
      sendError(context, connection, message, 400, null, undefined, "unknown method");
      return;
    }
    handler(context, connection, message).catch((error: unknown) => context.reportError(`method 0x${message.method.toString(16)}`, error));
  }

  onDropped(): void {
    this.context.counters.droppedPackets++;
  }

  /** A stream connection closed: RFC 8656 §3.1 ties its allocation to it. */
  onClosed(connection: ClientConnection): void {
    const allocation = connection.allocation;
    if (allocation !== null) this.context.allocations.end(allocation, "connection-closed");
  }

  onError(where: string, error: unknown): void {
    this.context.reportError(where, error);
  }
}
