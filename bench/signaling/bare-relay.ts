/**
 * BareRelay: the benchmark's floor. A Durable Object that forwards each text frame to the socket named by
 * the frame's `to`, or to every other socket when `to` is absent — nothing else: no storage, no schema, no
 * seq, no acks, no limits. It accepts sockets with the same WebSocket Hibernation API as Room
 * (`ctx.acceptWebSocket`, an auto-response ping) so the two differ only by what Room does per frame.
 */
import { DurableObject } from "cloudflare:workers";
import { PING_FRAME, PONG_FRAME } from "../../protocol/keepalive.ts";
import { peerOf, peerTag, socketsByPeer } from "./peer-tags.ts";

/** Forwards frames between the sockets of one bench room. */
export class BareRelay extends DurableObject<Record<string, unknown>> {
  /** peer id → socket; rebuilt from the hibernated sockets' tags when the object wakes. */
  readonly #peers: Map<string, WebSocket>;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.#peers = socketsByPeer(ctx);
  }

  /** Accepts one socket for `?peer=` (the route checked the name and the upgrade header). */
  override async fetch(request: Request): Promise<Response> {
    const peer = new URL(request.url).searchParams.get("peer") ?? "";
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [peerTag(peer)]);
    this.#peers.get(peer)?.close(1000, "replaced");
    this.#peers.set(peer, server);
    server.send(`{"type":"welcome","peerId":${JSON.stringify(peer)}}`);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Reads `to` and forwards the frame text unchanged. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    let to: unknown;
    try {
      to = (JSON.parse(message) as { to?: unknown }).to;
    } catch {
      return;
    }
    if (typeof to === "string") {
      sendQuietly(this.#peers.get(to), message);
      return;
    }
    for (const other of this.#peers.values()) if (other !== ws) sendQuietly(other, message);
  }

  /** Forgets the socket and completes the closing handshake (1005/1006 may not be sent: TOOLCHAIN.md). */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#forget(ws);
    try {
      ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  /** A failed socket is forgotten like a closed one. */
  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#forget(ws);
  }

  #forget(ws: WebSocket): void {
    const peer = peerOf(this.ctx.getTags(ws));
    if (peer !== undefined && this.#peers.get(peer) === ws) this.#peers.delete(peer);
  }
}

function sendQuietly(ws: WebSocket | undefined, text: string): void {
  try {
    ws?.send(text);
  } catch {
    // The socket is closing; its close event forgets it.
  }
}
