/**
 * AblationRelay: BareRelay plus, switched on per room, one piece at a time of what the Room does per frame —
 * to find which piece costs the Room its latency against the floor (bench/signaling/ablation.ts drives it).
 * The pieces copy the Room's approach (worker/room/frames.ts, outbox.ts, storage.ts) without importing it, so
 * a refactor of the Room never breaks the benchmark's bundle:
 *   validate    — JSON.parse + the protocol's zod schema (ClientMessage.safeParse) on every inbound frame;
 *   reserialize — deliver `{"type":"signal","from",…,"data",…,"seq":n}` built with JSON.stringify once per
 *                 frame plus a seq, retain it until the client's cumulative ack (acks are consumed, not relayed);
 *   flush       — every 250 ms while frames flow, one SQLite transaction writing the unflushed retained frames
 *                 and deleting acknowledged ones (the Room's coalesced flush; the output gate then holds sends
 *                 until the commit is durable).
 * The mode is fixed by the first socket of a room (`?mode=validate,reserialize,flush`).
 */
import { DurableObject } from "cloudflare:workers";
import { PING_FRAME, PONG_FRAME } from "../../protocol/keepalive.ts";
import { ClientMessage } from "../../protocol/messages.ts";
import { peerOf, peerTag, socketsByPeer } from "./peer-tags.ts";

/** The Room's coalesced flush delay (worker/room/deadlines.ts FLUSH_DELAY_MS). */
const FLUSH_DELAY_MS = 250;

interface Mode {
  validate: boolean;
  reserialize: boolean;
  flush: boolean;
}

/** Per recipient: next seq, retained frames, and how far storage has them. */
interface Retained {
  nextSeq: number;
  ackedSeq: number;
  persistedSeq: number;
  persistedAckedSeq: number;
  seqs: number[];
  texts: string[];
}

/** A relay with the Room's per-frame work switchable piece by piece. */
export class AblationRelay extends DurableObject<Record<string, unknown>> {
  readonly #peers: Map<string, WebSocket>;
  readonly #retained = new Map<string, Retained>();
  readonly #dirty = new Set<string>();
  #mode: Mode | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #schema = false;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.#peers = socketsByPeer(ctx);
  }

  /** Accepts one socket for `?peer=`; the first one fixes the room's `?mode=`. */
  override async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const peer = params.get("peer") ?? "";
    if (this.#mode === undefined) {
      const pieces = (params.get("mode") ?? "").split(",");
      this.#mode = { validate: pieces.includes("validate"), reserialize: pieces.includes("reserialize"), flush: pieces.includes("flush") };
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [peerTag(peer)]);
    this.#peers.get(peer)?.close(1000, "replaced");
    this.#peers.set(peer, server);
    this.#retained.set(peer, { nextSeq: 1, ackedSeq: 0, persistedSeq: 0, persistedAckedSeq: 0, seqs: [], texts: [] });
    server.send(`{"type":"welcome","peerId":${JSON.stringify(peer)}}`);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Relays one frame with the pieces this room's mode switches on. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    const mode = this.#mode ?? { validate: false, reserialize: false, flush: false };
    let frame: { type?: unknown; to?: unknown; data?: unknown; seq?: unknown };
    try {
      frame = JSON.parse(message) as typeof frame;
    } catch {
      return;
    }
    if (mode.validate && !ClientMessage.safeParse(frame).success) return;
    const from = peerOf(this.ctx.getTags(ws)) ?? "";
    if (frame.type === "ack" && typeof frame.seq === "number") {
      this.#ack(from, frame.seq);
      return;
    }
    const targets = typeof frame.to === "string" ? [frame.to] : [...this.#peers.keys()].filter((peer) => peer !== from);
    const prefix = mode.reserialize ? `${JSON.stringify({ type: frame.type, from, data: frame.data }).slice(0, -1)},"seq":` : "";
    for (const target of targets) {
      const socket = this.#peers.get(target);
      if (!socket) continue;
      let text = message;
      if (mode.reserialize) {
        const retained = this.#retained.get(target) as Retained;
        const seq = retained.nextSeq++;
        text = `${prefix}${seq}}`;
        retained.seqs.push(seq);
        retained.texts.push(text);
        if (mode.flush) this.#markDirty(target);
      }
      try {
        socket.send(text);
      } catch {
        // closing
      }
    }
  }

  /** Forgets the socket and completes the closing handshake. */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const peer = peerOf(this.ctx.getTags(ws));
    if (peer !== undefined && this.#peers.get(peer) === ws) this.#peers.delete(peer);
    try {
      ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  #ack(peer: string, seq: number): void {
    const retained = this.#retained.get(peer);
    if (!retained || seq <= retained.ackedSeq) return;
    retained.ackedSeq = seq;
    let drop = 0;
    while (drop < retained.seqs.length && (retained.seqs[drop] as number) <= seq) drop++;
    retained.seqs.splice(0, drop);
    retained.texts.splice(0, drop);
    if (this.#mode?.flush) this.#markDirty(peer);
  }

  #markDirty(peer: string): void {
    this.#dirty.add(peer);
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_DELAY_MS);
  }

  /** One transaction: unflushed retained frames in, acknowledged ones out (as worker/room/storage.ts flushOutbox). */
  #flush(): void {
    this.#flushTimer = undefined;
    const sql = this.ctx.storage.sql;
    if (!this.#schema) {
      sql.exec(
        "CREATE TABLE IF NOT EXISTS frames (peer_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (peer_id, seq)) WITHOUT ROWID",
      );
      this.#schema = true;
    }
    this.ctx.storage.transactionSync(() => {
      for (const peer of this.#dirty) {
        const retained = this.#retained.get(peer);
        if (!retained) continue;
        if (retained.ackedSeq > retained.persistedAckedSeq)
          sql.exec("DELETE FROM frames WHERE peer_id = ? AND seq <= ?", peer, retained.ackedSeq);
        retained.seqs.forEach((seq, index) => {
          if (seq > retained.persistedSeq)
            sql.exec("INSERT OR REPLACE INTO frames (peer_id, seq, body) VALUES (?, ?, ?)", peer, seq, retained.texts[index]);
        });
        retained.persistedSeq = retained.nextSeq - 1;
        retained.persistedAckedSeq = retained.ackedSeq;
      }
    });
    this.#dirty.clear();
  }
}
