/**
 * The Room Durable Object: one per room name (`idFromName(room)`). Presence, relay and lossless signaling
 * over hibernatable WebSockets (https://developers.cloudflare.com/durable-objects/best-practices/websockets/).
 *
 * Shape (after partyserver): the platform callbacks — fetch, webSocketMessage/Close/Error, alarm — are
 * wrapped once here; each catches and logs its errors with room and peer, so one bad socket never breaks
 * the room. Seq/retention lives in outbox.ts, client sequence numbers in client-seq.ts, SQL in storage.ts,
 * validation in frames.ts, timers in deadlines.ts.
 */
import { DurableObject } from "cloudflare:workers";
import { CloseCode, ErrorCode } from "../../protocol/errors.ts";
import {
  type ClientMessage,
  type PeerLeftMessage,
  PING_FRAME,
  PONG_FRAME,
  PROTOCOL_VERSION,
  type RoomLimits,
  type RoomState,
  type WelcomeMessage,
} from "../../protocol/messages.ts";
import { getConfig, type RoomConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { ClientSeq } from "./client-seq.ts";
import { Connection, readAttachment, type SocketAttachment } from "./connection.ts";
import { FLUSH_DELAY_MS, isSilent, nextAlarmAt } from "./deadlines.ts";
import {
  checkClientFrame,
  clientAckFrame,
  clientSeqOf,
  type DurableFrameBody,
  durablePrefix,
  type ErrorDetails,
  errorFrame,
  peekClientSeq,
  withSeq,
} from "./frames.ts";
import { type Handoff, readHandoff } from "./handoff.ts";
import { logRoomError, logRoomEvent } from "./log.ts";
import { Outbox } from "./outbox.ts";
import {
  newPeerId,
  newResumeToken,
  newSession,
  type PeerSession,
  peerInfo,
  peerState,
  randomId,
  resolveGrants,
  tokenKey,
} from "./peers.ts";
import { closeQuietly, refuseConnection, sendError, sendQuietly } from "./sockets.ts";
import { RoomStore } from "./storage.ts";

/** Seqs reserved per storage write while frames are unflushed; a restart continues above them. */
export const SEQ_RESERVE_BLOCK = 4096;

type LeaveReason = PeerLeftMessage["reason"];

/** Room: presence, relay and lossless signaling for one room. */
export class Room extends DurableObject<Env> {
  readonly #config: RoomConfig;
  readonly #limits: RoomLimits;
  readonly #store: RoomStore;
  #name: string | undefined;
  #createdAt: number | null = null;
  #emptySince: number | null = null;
  /** Seqs handed out beyond storage, per recipient, are at most this many (0: storage is complete). */
  #seqReserve = 0;
  /** A seq went out on a socket since the last flush (the reserve must stay). */
  #issuedSinceFlush = false;
  /** The storage reserve found at wake: > 0 means the last instance ended without its final flush. */
  #uncleanWake = false;
  /** A frame was written through for an absent recipient while the current inbound frame was handled. */
  #wroteThrough = false;
  readonly #sessions = new Map<string, PeerSession>();
  readonly #byResumeToken = new Map<string, PeerSession>();
  readonly #connections = new WeakMap<WebSocket, Connection>();
  readonly #dirty = new Set<PeerSession>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** The alarm time we last set (null: none). */
  #alarmAt: number | null = null;
  /** Peers whose socket vanished while the room was down; announced as reconnecting on the first event. */
  #orphans: PeerSession[] = [];
  #started = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#config = getConfig(env).room;
    this.#limits = {
      maxFrameBytes: this.#config.maxFrameBytes,
      maxPeers: this.#config.maxPeersPerRoom,
      ratePerSecond: this.#config.ratePerSecond,
      rateBurst: this.#config.rateBurst,
      resumeGraceSeconds: this.#config.resumeGraceSeconds,
    };
    // Pings are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.#store = new RoomStore(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      this.#load(Date.now());
    });
  }

  // ---------- platform entry points (each wrapped once) ----------

  /** Accepts a WebSocket handed off by the room route (worker/routes/rooms.ts). */
  override async fetch(request: Request): Promise<Response> {
    try {
      this.#start();
      const handoff = readHandoff(request);
      if (!handoff) return new Response("room requests come from the room route only", { status: 400 });
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("expected a WebSocket upgrade", { status: 426 });
      }
      return await this.#connect(handoff);
    } catch (error) {
      logRoomError("room fetch failed", error, { room: this.#roomName() });
      return new Response("internal error", { status: 500 });
    }
  }

  /** One inbound frame. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    let peerId: string | undefined;
    try {
      this.#start();
      const connection = this.#connectionOf(ws);
      peerId = connection?.peerId;
      const session = connection ? this.#currentSession(connection) : undefined;
      if (!connection || !session) {
        closeQuietly(ws, CloseCode.replaced, "this connection is no longer part of the room");
        return;
      }
      await this.#onFrame(ws, connection, session, message);
    } catch (error) {
      logRoomError("webSocketMessage failed", error, { room: this.#roomName(), peerId });
      sendQuietly(ws, errorFrame(ErrorCode.internal, "internal error"));
    }
  }

  /** The client closed (or the runtime saw the socket close). */
  override async webSocketClose(ws: WebSocket, code: number, reason: string, _wasClean: boolean): Promise<void> {
    let peerId: string | undefined;
    try {
      this.#start();
      // Complete the closing handshake (RFC 6455 §5.5.1). 1005/1006/1015 may not be sent, and close(1005) throws.
      closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
      const connection = this.#connectionOf(ws);
      peerId = connection?.peerId;
      const session = connection ? this.#currentSession(connection) : undefined;
      if (!session) return;
      // A deliberate goodbye (1000, or 1001 from a closing tab) ends the session at once; anything else may resume.
      if (code === 1000 || code === 1001) this.#removePeer(session, "left", Date.now());
      else this.#dropSocket(session, Date.now());
    } catch (error) {
      logRoomError("webSocketClose failed", error, { room: this.#roomName(), peerId });
    }
  }

  /** The socket failed: an abnormal drop, the resume grace starts. */
  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    let peerId: string | undefined;
    try {
      this.#start();
      const connection = this.#connectionOf(ws);
      peerId = connection?.peerId;
      logRoomEvent("socket error", { room: this.#roomName(), peerId, error: String(error) });
      const session = connection ? this.#currentSession(connection) : undefined;
      if (session) this.#dropSocket(session, Date.now());
    } catch (caught) {
      logRoomError("webSocketError failed", caught, { room: this.#roomName(), peerId });
    }
  }

  /** The one alarm: sweep dead sockets, end expired graces, delete an empty room after its TTL. */
  override async alarm(): Promise<void> {
    try {
      this.#start();
      this.#alarmAt = null;
      const now = Date.now();
      this.#sweep(now);
      for (const session of [...this.#sessions.values()]) {
        if (session.graceUntil !== 0 && session.graceUntil <= now) this.#removePeer(session, "timeout", now);
      }
      const emptyFor = this.#emptySince === null ? -1 : now - this.#emptySince;
      if (this.#sessions.size === 0 && emptyFor >= this.#config.emptyRoomTtlSeconds * 1000) {
        logRoomEvent("empty room expired", { room: this.#roomName() });
        await this.#deleteRoom();
        return;
      }
      this.#scheduleAlarm(now);
    } catch (error) {
      logRoomError("alarm failed", error, { room: this.#roomName() });
    }
  }

  // ---------- RPC ----------

  /** The room's state for `GET /v1/rooms/:room`; reads only, so asking about an unknown room stores nothing. */
  async describe(room: string): Promise<RoomState> {
    this.#start();
    return {
      room: this.#name ?? room,
      createdAt: this.#createdAt,
      peers: [...this.#sessions.values()].map(peerState),
    };
  }

  /** Persists every pending outbox change now and marks storage complete (clean for the next wake). */
  flush(): void {
    this.#writeOutboxes(true);
  }

  /**
   * The coalesced flush. While seqs are still being handed out the reserve stays in storage, so the next frame
   * needs no write; the first flush that finds nothing new clears it, so a room that goes quiet wakes clean.
   */
  #onFlushTimer(): void {
    const idle = !this.#issuedSinceFlush;
    this.#writeOutboxes(idle);
    if (!idle) this.#scheduleFlush();
  }

  #writeOutboxes(complete: boolean): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#issuedSinceFlush = false;
    const clearReserve = complete && this.#seqReserve !== 0;
    if (this.#dirty.size > 0 || clearReserve) this.#persist(undefined, clearReserve);
    if (clearReserve) this.#seqReserve = 0;
    this.#sendClientAcks();
  }

  /**
   * Writes every dirty session — and `also`, with its peer row — in one transaction (one commit, one output-gate
   * wait). Each sender's cseq is stored together with the recipients' frames its frames produced, so a stored
   * (and therefore acknowledged) cseq never outlives its effects in a restart (docs/decisions.md).
   */
  #persist(also?: PeerSession, clearReserve = false): void {
    this.#store.transaction(() => {
      for (const session of this.#dirty) {
        if (session !== also && this.#sessions.get(session.peerId) === session) this.#store.flushSession(session);
      }
      if (also) {
        this.#store.flushSession(also);
        this.#store.savePeer(also);
      }
      if (clearReserve) this.#store.setSeqReserve(0);
    });
    this.#dirty.clear();
  }

  /** #persist outside the flush timer: the `client-ack`s it made due go out with the next coalesced flush. */
  #persistNow(also?: PeerSession): void {
    this.#persist(also);
    for (const session of this.#sessions.values()) {
      if (session.socket && session.clientSeq.persisted > session.clientSeq.acknowledged) {
        this.#scheduleFlush();
        return;
      }
    }
  }

  /** Tells each connected sender the highest cseq now stored (one cumulative `client-ack` per flush at most). */
  #sendClientAcks(): void {
    for (const session of this.#sessions.values()) {
      if (!session.socket) continue;
      const cseq = session.clientSeq.takeAck();
      // Sent after the flush's transaction: the output gate holds it until that write is durable.
      if (cseq !== 0) sendQuietly(session.socket, clientAckFrame(cseq));
    }
  }

  // ---------- wake ----------

  /** Rebuilds the room from SQLite and the sockets that survived hibernation or eviction. */
  #load(now: number): void {
    const room = this.#store.loadRoom();
    if (!room) return;
    this.#name = room.name;
    this.#createdAt = room.createdAt;
    this.#emptySince = room.emptySince;
    this.#uncleanWake = room.seqReserve > 0;
    for (const row of this.#store.loadPeers()) {
      const outbox = new Outbox(row.nextSeq, row.ackedSeq);
      for (const frame of this.#store.loadFrames(row.peerId)) {
        if (frame.seq > row.ackedSeq) outbox.restore(frame.seq, frame.body);
      }
      // After an unclean end, a connected peer may have been sent seqs up to persisted + reserve: continue above
      // them. A reconnecting peer's frames were all written through, so its stored counter is exact.
      if (this.#uncleanWake && row.graceUntil === 0) outbox.nextSeq += room.seqReserve;
      const session = newSession({
        peerId: row.peerId,
        userId: row.userId,
        name: row.name,
        metadata: row.metadata,
        joinedAt: row.joinedAt,
        grants: { canPublishData: row.canPublishData, admin: row.admin },
        resumeToken: row.resumeToken,
        tokenKey: row.tokenKey,
        tokenExp: row.tokenExp,
        connectionId: row.connectionId,
      });
      session.outbox = outbox;
      session.clientSeq = new ClientSeq(row.lastClientSeq);
      session.graceUntil = row.graceUntil;
      this.#sessions.set(session.peerId, session);
      this.#byResumeToken.set(session.resumeToken, session);
    }
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = readAttachment(ws);
      const session = attachment ? this.#sessions.get(attachment.peerId) : undefined;
      // Storage is authoritative: a socket of a dropped (reconnecting) or replaced connection is not reattached.
      if (!attachment || !session || session.connectionId !== attachment.connectionId || session.graceUntil !== 0) {
        closeQuietly(ws, CloseCode.replaced, "this connection is no longer part of the room");
        continue;
      }
      this.#connections.set(ws, new Connection(attachment, this.#config.ratePerSecond, this.#config.rateBurst, now));
      session.socket = ws;
    }
    for (const session of this.#sessions.values()) {
      if (session.socket || session.graceUntil !== 0) continue;
      // Its socket ended while no instance ran (deploy, crash): no close event will come, so the grace starts now.
      session.graceUntil = now + this.#config.resumeGraceSeconds * 1000;
      session.lossPossible = this.#uncleanWake;
      this.#orphans.push(session);
    }
  }

  /** Work of a wake that sends frames or writes storage, done on the first event rather than in the constructor. */
  #start(): void {
    if (this.#started) return;
    this.#started = true;
    const now = Date.now();
    if (this.#uncleanWake || this.#orphans.length > 0) {
      logRoomEvent("room restarted", { room: this.#roomName(), unclean: this.#uncleanWake, orphans: this.#orphans.length });
      this.#store.transaction(() => {
        for (const session of this.#sessions.values()) {
          this.#store.flushSession(session);
          this.#store.savePeer(session);
        }
        this.#store.setSeqReserve(0);
      });
    }
    const orphans = this.#orphans;
    this.#orphans = [];
    for (const session of orphans) {
      if (this.#sessions.get(session.peerId) === session) this.#announce(session, { type: "peer-reconnecting", peerId: session.peerId });
    }
    if (this.#sessions.size > 0 || this.#emptySince !== null) this.#scheduleAlarm(now);
  }

  // ---------- joining and resuming ----------

  async #connect(handoff: Handoff): Promise<Response> {
    const now = Date.now();
    this.#name ??= handoff.room;
    const { 0: client, 1: server } = new WebSocketPair();
    const claims = handoff.claims;
    const key = tokenKey(claims);
    if (this.#store.isTokenBanned(key, Math.floor(now / 1000))) {
      return refuseConnection(
        client,
        server,
        ErrorCode.forbidden,
        "this room token was kicked from the room; get a new token",
        CloseCode.kicked,
      );
    }
    let resumeFailure: string | undefined;
    if (handoff.resumeToken !== undefined) {
      const outcome = this.#resume(server, handoff, now);
      if (outcome === true) return new Response(null, { status: 101, webSocket: client });
      resumeFailure = outcome;
    }
    if (this.#sessions.size >= this.#config.maxPeersPerRoom) {
      logRoomEvent("room full", { room: this.#roomName() });
      return refuseConnection(
        client,
        server,
        ErrorCode.roomFull,
        `the room is full (${this.#config.maxPeersPerRoom} peers)`,
        CloseCode.roomFull,
        resumeFailure,
      );
    }

    if (this.#createdAt === null) {
      this.#createdAt = now;
      this.#store.createRoom(this.#name, now);
    }
    const session = newSession({
      peerId: newPeerId(),
      userId: claims.sub,
      name: claims.name,
      metadata: claims.metadata ?? {},
      joinedAt: now,
      grants: resolveGrants(claims.grants),
      resumeToken: newResumeToken(),
      tokenKey: key,
      tokenExp: claims.exp,
      connectionId: randomId(9),
    });
    this.#acceptSocket(server, session, now);
    this.#store.savePeer(session);
    if (this.#emptySince !== null) {
      this.#emptySince = null;
      this.#store.setEmptySince(null);
    }
    this.#sessions.set(session.peerId, session);
    this.#byResumeToken.set(session.resumeToken, session);

    if (resumeFailure !== undefined) server.send(errorFrame(ErrorCode.resumeFailed, resumeFailure));
    server.send(this.#welcome(session, false));
    this.#announce(session, { type: "peer-joined", peerId: session.peerId, peer: peerInfo(session) });
    this.#scheduleAlarm(now);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Resumes a session on a new socket; returns true, or why the resume failed (then the caller joins afresh). */
  #resume(server: WebSocket, handoff: Handoff, now: number): true | string {
    const session = this.#byResumeToken.get(handoff.resumeToken as string);
    if (!session) return "unknown or expired resume token";
    if (session.userId !== handoff.claims.sub) return "the resume token belongs to another user";
    if (session.graceUntil !== 0 && session.graceUntil <= now) {
      this.#removePeer(session, "timeout", now);
      return "the resume grace period has ended";
    }
    const outbox = session.outbox;
    const lastSeq = handoff.lastSeq ?? outbox.ackedSeq;
    if (lastSeq >= outbox.nextSeq) return `lastSeq ${lastSeq} is ahead of the last seq sent (${outbox.nextSeq - 1})`;

    const wasReconnecting = session.graceUntil !== 0;
    if (session.socket) closeQuietly(session.socket, CloseCode.replaced, "replaced by a newer connection");
    session.socket = null;
    session.graceUntil = 0;
    session.connectionId = randomId(9);
    session.grants = resolveGrants(handoff.claims.grants);
    session.tokenKey = tokenKey(handoff.claims);
    session.tokenExp = handoff.claims.exp;
    outbox.ack(lastSeq); // frames up to lastSeq arrived
    this.#acceptSocket(server, session, now);
    // Everything pending is stored first, so the welcome's lastClientSeq is stored with its frames' effects
    // (and acknowledges them: no client-ack is due for this connection).
    session.clientSeq.welcomed();
    this.#persistNow(session);

    server.send(this.#welcome(session, true));
    session.lossPossible = false;
    for (const frame of outbox.since(lastSeq)) server.send(frame.text);
    if (wasReconnecting) this.#announce(session, { type: "peer-resumed", peerId: session.peerId });
    this.#scheduleAlarm(now);
    return true;
  }

  #acceptSocket(server: WebSocket, session: PeerSession, now: number): void {
    const attachment: SocketAttachment = { peerId: session.peerId, connectionId: session.connectionId, connectedAt: now };
    // The tag lets getWebSockets(peerId) find a peer's socket; the attachment survives hibernation.
    this.ctx.acceptWebSocket(server, [session.peerId]);
    server.serializeAttachment(attachment);
    this.#connections.set(server, new Connection(attachment, this.#config.ratePerSecond, this.#config.rateBurst, now));
    session.socket = server;
  }

  #welcome(session: PeerSession, resumed: boolean): string {
    const peers = [];
    for (const other of this.#sessions.values()) if (other !== session) peers.push(peerInfo(other));
    const welcome: WelcomeMessage = {
      type: "welcome",
      v: PROTOCOL_VERSION,
      room: this.#roomName(),
      peerId: session.peerId,
      peers,
      resumeToken: session.resumeToken,
      resumed,
      limits: this.#limits,
      lastClientSeq: session.clientSeq.processed,
    };
    if (resumed && session.lossPossible) welcome.lossPossible = true;
    return JSON.stringify(welcome);
  }

  // ---------- inbound frames ----------

  async #onFrame(ws: WebSocket, connection: Connection, session: PeerSession, raw: string | ArrayBuffer): Promise<void> {
    const now = Date.now();
    connection.lastMessageAt = now;
    if (!connection.bucket.take(now)) {
      // Not processed: the refusal names the frame's cseq, so the client sends it again (and the frames after it).
      const cseq = peekClientSeq(raw, this.#config.maxFrameBytes);
      this.#refuse(ws, connection, session, ErrorCode.rateLimited, "too many frames; slow down", now, { cseq });
      return;
    }
    const check = checkClientFrame(raw, this.#config.maxFrameBytes);
    const cseq = check.ok ? clientSeqOf(check.message) : check.cseq;
    if (cseq !== undefined) {
      const order = session.clientSeq.accept(cseq);
      // A frame sent again after a resume (or a rate-limit refusal) that was already processed: its answer was given.
      if (order === "duplicate") return;
      if (order === "gap") {
        const processed = session.clientSeq.processed;
        const text = `cseq ${cseq} is out of order: the room processed up to ${processed}; send ${processed + 1} first`;
        sendError(ws, ErrorCode.outOfOrder, text, { cseq, lastClientSeq: processed });
        return;
      }
      this.#markDirty(session); // the next flush stores the cseq with the frame's effects, then acknowledges it
      this.#wroteThrough = false;
    }
    if (!check.ok) {
      this.#refuse(ws, connection, session, check.code, check.message, now, { cseq });
      return;
    }
    await this.#dispatch(ws, connection, session, check.message, cseq, now);
    // A frame queued for an absent recipient is stored at once; its cseq goes with it, or a restart would make its
    // sender send it again and that recipient get it twice.
    if (cseq !== undefined && this.#wroteThrough) this.#persistNow();
  }

  /** Acts on one valid frame. */
  #dispatch(
    ws: WebSocket,
    connection: Connection,
    session: PeerSession,
    message: ClientMessage,
    cseq: number | undefined,
    now: number,
  ): void | Promise<void> {
    switch (message.type) {
      case "signal":
        return this.#onSignal(ws, session, message.to, message.data, cseq);
      case "broadcast":
        return this.#onBroadcast(ws, session, message.data, message.ephemeral === true, cseq);
      case "ack":
        if (!session.outbox.ack(message.seq)) {
          this.#refuse(ws, connection, session, ErrorCode.badMessage, `ack ${message.seq} is beyond the last seq sent`, now);
        } else if (session.outbox.persistedMaxSeq > session.outbox.persistedAckedSeq) {
          this.#markDirty(session); // stored frames became acked: let the next flush delete them
        }
        return;
      case "leave":
        this.#removePeer(session, "left", now);
        closeQuietly(ws, 1000, "left");
        return;
      case "metadata":
        session.metadata = message.metadata;
        this.#store.savePeer(session);
        this.#announce(session, { type: "peer-updated", peerId: session.peerId, metadata: message.metadata });
        return;
      case "quality":
        this.#sendEphemeral(session, JSON.stringify({ type: "quality", from: session.peerId, report: message.report }));
        return;
      case "kick":
        return this.#onKick(ws, session, message.peerId, message.reason, cseq, now);
      case "close-room":
        if (!session.grants.admin) {
          sendError(ws, ErrorCode.forbidden, "closing the room needs the admin grant", { cseq });
          return;
        }
        logRoomEvent("room closed by admin", { room: this.#roomName(), peerId: session.peerId });
        return this.#closeRoom();
    }
  }

  /** Answers a refused frame; a connection that keeps being refused is closed for abuse and its session ends. */
  #refuse(
    ws: WebSocket,
    connection: Connection,
    session: PeerSession,
    code: ErrorCode,
    message: string,
    now: number,
    details?: ErrorDetails,
  ): void {
    sendQuietly(ws, errorFrame(code, message, details));
    if (!connection.refusals.record(now)) return;
    logRoomEvent("closing abusive connection", { room: this.#roomName(), peerId: session.peerId, lastRefusal: code });
    closeQuietly(ws, CloseCode.abuse, "too many refused frames");
    this.#removePeer(session, "kicked", now);
  }

  #onSignal(ws: WebSocket, session: PeerSession, to: string, data: unknown, cseq: number | undefined): void {
    if (!session.grants.canPublishData) {
      sendError(ws, ErrorCode.forbidden, "this token may not publish data", { cseq });
      return;
    }
    const target = this.#sessions.get(to);
    if (!target || target === session) {
      sendError(ws, ErrorCode.unknownPeer, `no other peer ${JSON.stringify(to)} in this room`, { cseq });
      return;
    }
    if (target.outbox.size >= this.#config.maxQueuePerPeer) {
      sendError(ws, ErrorCode.queueFull, `peer ${to} has ${target.outbox.size} unacknowledged frames; not delivered`, { cseq });
      return;
    }
    // `from` is always the server's knowledge of the sender; a client-sent `from` was stripped by the schema.
    this.#deliver(target, durablePrefix({ type: "signal", from: session.peerId, data }));
  }

  #onBroadcast(ws: WebSocket, session: PeerSession, data: unknown, ephemeral: boolean, cseq: number | undefined): void {
    if (!session.grants.canPublishData) {
      sendError(ws, ErrorCode.forbidden, "this token may not publish data", { cseq });
      return;
    }
    if (ephemeral) {
      this.#sendEphemeral(session, JSON.stringify({ type: "broadcast", from: session.peerId, data }));
      return;
    }
    const prefix = durablePrefix({ type: "broadcast", from: session.peerId, data });
    let skipped: string[] | undefined;
    for (const other of this.#sessions.values()) {
      if (other === session) continue;
      if (other.outbox.size < this.#config.maxQueuePerPeer) this.#deliver(other, prefix);
      else if (skipped) skipped.push(other.peerId);
      else skipped = [other.peerId];
    }
    if (skipped) {
      sendError(ws, ErrorCode.queueFull, `not delivered to ${skipped.join(", ")}: too many unacknowledged frames`, { cseq });
    }
  }

  #onKick(ws: WebSocket, session: PeerSession, peerId: string, reason: string | undefined, cseq: number | undefined, now: number): void {
    if (!session.grants.admin) {
      sendError(ws, ErrorCode.forbidden, "kicking needs the admin grant", { cseq });
      return;
    }
    const target = this.#sessions.get(peerId);
    if (!target) {
      sendError(ws, ErrorCode.unknownPeer, `no peer ${JSON.stringify(peerId)} in this room`, { cseq });
      return;
    }
    logRoomEvent("peer kicked", { room: this.#roomName(), peerId: target.peerId, by: session.peerId });
    // The kicked token may not come back (CloseCode.kicked); the ban lasts as long as that token.
    this.#store.banToken(target.tokenKey, target.tokenExp);
    if (target.socket) closeQuietly(target.socket, CloseCode.kicked, reason ?? "kicked by an admin");
    this.#removePeer(target, "kicked", now);
  }

  // ---------- outbound frames ----------

  /** Sends a durable frame to one recipient: next seq, retained until acked, sent now or queued for its resume. */
  #deliver(recipient: PeerSession, prefix: string): void {
    const outbox = recipient.outbox;
    const seq = outbox.assign();
    const text = withSeq(prefix, seq);
    outbox.retain(seq, text);
    const socket = recipient.socket;
    if (socket === null) {
      // No socket to be fast for: write through, so a queued frame survives a restart.
      this.#store.flushSession(recipient);
      this.#wroteThrough = true;
      return;
    }
    if (this.#seqReserve === 0 || outbox.nextSeq - outbox.persistedNextSeq > this.#seqReserve) {
      // Written before the send below; the output gate holds that send until this write is durable.
      this.#seqReserve += SEQ_RESERVE_BLOCK;
      this.#store.setSeqReserve(this.#seqReserve);
    }
    this.#issuedSinceFlush = true;
    this.#markDirty(recipient);
    sendQuietly(socket, text); // if the socket is gone, its close event starts the grace; the frame is retained
  }

  /** A server event (presence, metadata) to every other peer. Queues past the soft bound, up to twice it. */
  #announce(subject: PeerSession, body: DurableFrameBody): void {
    const prefix = durablePrefix(body);
    let overflowed: PeerSession[] | undefined;
    for (const other of this.#sessions.values()) {
      if (other === subject) continue;
      if (other.outbox.size < 2 * this.#config.maxQueuePerPeer) this.#deliver(other, prefix);
      else if (overflowed) overflowed.push(other);
      else overflowed = [other];
    }
    for (const broken of overflowed ?? []) {
      if (this.#sessions.get(broken.peerId) !== broken) continue;
      logRoomEvent("queue overflow", { room: this.#roomName(), peerId: broken.peerId, queued: broken.outbox.size });
      if (broken.socket) closeQuietly(broken.socket, CloseCode.queueOverflow, "too many unacknowledged frames");
      this.#removePeer(broken, "timeout", Date.now());
    }
  }

  /** Sends an ephemeral frame (no seq, never retained) to the other connected peers. */
  #sendEphemeral(sender: PeerSession, text: string): void {
    for (const other of this.#sessions.values()) {
      if (other !== sender && other.socket) sendQuietly(other.socket, text);
    }
  }

  #markDirty(session: PeerSession): void {
    this.#dirty.add(session);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    // A pending timer keeps the room from hibernating, so after hibernation SQLite is complete
    // (https://developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/).
    this.#flushTimer ??= setTimeout(() => {
      try {
        this.#onFlushTimer();
      } catch (error) {
        logRoomError("flush failed", error, { room: this.#roomName() });
      }
    }, FLUSH_DELAY_MS);
  }

  // ---------- leaving ----------

  /** An abnormal drop: keep the session for the resume grace, persist its unacked frames now, tell the others. */
  #dropSocket(session: PeerSession, now: number): void {
    if (session.socket === null) return;
    session.socket = null;
    session.graceUntil = now + this.#config.resumeGraceSeconds * 1000;
    // Everything pending, not only this session: its stored cseq must come with its frames' effects on the others.
    this.#persistNow(session);
    this.#announce(session, { type: "peer-reconnecting", peerId: session.peerId });
    this.#scheduleAlarm(now);
  }

  /** Ends a session for good and tells the others why. */
  #removePeer(session: PeerSession, reason: LeaveReason, now: number): void {
    if (this.#sessions.get(session.peerId) !== session) return;
    this.#sessions.delete(session.peerId);
    this.#byResumeToken.delete(session.resumeToken);
    this.#dirty.delete(session);
    session.socket = null;
    this.#store.deletePeer(session.peerId);
    this.#announce(session, { type: "peer-left", peerId: session.peerId, reason });
    if (this.#sessions.size === 0) {
      this.#emptySince = now;
      this.#store.setEmptySince(now);
    }
    this.#scheduleAlarm(now);
  }

  /** close-room: disconnect everyone and forget the room. */
  async #closeRoom(): Promise<void> {
    for (const session of this.#sessions.values()) {
      if (session.socket) closeQuietly(session.socket, CloseCode.roomClosed, "the room was closed by an admin");
    }
    await this.#deleteRoom();
  }

  /** Deletes every trace of the room (close-room, empty-room TTL). */
  async #deleteRoom(): Promise<void> {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#issuedSinceFlush = false;
    this.#sessions.clear();
    this.#byResumeToken.clear();
    this.#dirty.clear();
    this.#createdAt = null;
    this.#emptySince = null;
    this.#seqReserve = 0;
    this.#alarmAt = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#store.forgetSchema();
  }

  // ---------- timers ----------

  /** Closes sockets silent for longer than IDLE_TIMEOUT_MS (no frame and no auto-answered ping) as dead. */
  #sweep(now: number): void {
    for (const session of [...this.#sessions.values()]) {
      const socket = session.socket;
      if (!socket) continue;
      const connection = this.#connectionOf(socket);
      const pingedAt = this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0;
      const lastHeardAt = Math.max(pingedAt, connection?.lastMessageAt ?? 0, connection?.connectedAt ?? 0);
      if (!isSilent(lastHeardAt, now)) continue;
      logRoomEvent("closing silent socket", { room: this.#roomName(), peerId: session.peerId, silentMs: now - lastHeardAt });
      closeQuietly(socket, CloseCode.idleTimeout, "no ping or frame received in time");
      this.#dropSocket(session, now);
    }
  }

  /** Sets the alarm to the earliest pending deadline unless an earlier alarm will already run and reschedule. */
  #scheduleAlarm(now: number): void {
    let openSockets = 0;
    let earliestGraceEnd = Number.POSITIVE_INFINITY;
    for (const session of this.#sessions.values()) {
      if (session.socket) openSockets++;
      else if (session.graceUntil !== 0) earliestGraceEnd = Math.min(earliestGraceEnd, session.graceUntil);
    }
    const next = nextAlarmAt({
      now,
      openSockets,
      earliestGraceEnd,
      emptySince: this.#sessions.size === 0 ? this.#emptySince : null,
      emptyRoomTtlMs: this.#config.emptyRoomTtlSeconds * 1000,
    });
    if (next === null) return; // a stale alarm finds nothing to do and sets no new one
    if (this.#alarmAt !== null && this.#alarmAt <= next && this.#alarmAt > now) return;
    this.#alarmAt = next;
    this.ctx.storage.setAlarm(next).catch((error: unknown) => logRoomError("setAlarm failed", error, { room: this.#roomName() }));
  }

  // ---------- lookups ----------

  #connectionOf(ws: WebSocket): Connection | undefined {
    const known = this.#connections.get(ws);
    if (known) return known;
    const attachment = readAttachment(ws);
    if (!attachment) return undefined;
    const connection = new Connection(attachment, this.#config.ratePerSecond, this.#config.rateBurst, Date.now());
    this.#connections.set(ws, connection);
    return connection;
  }

  /** The session this connection currently serves; undefined for a replaced, dropped or removed connection. */
  #currentSession(connection: Connection): PeerSession | undefined {
    const session = this.#sessions.get(connection.peerId);
    if (!session || session.connectionId !== connection.connectionId || session.socket === null) return undefined;
    return session;
  }

  #roomName(): string {
    return this.#name ?? this.ctx.id.name ?? this.ctx.id.toString();
  }
}
