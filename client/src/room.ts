/**
 * A room connection: the client side of the signaling protocol (docs/protocol.md). Connects with a room
 * token, keeps the socket alive, reconnects with backoff and resumes the session so no signaling frame is
 * lost or seen twice — in either direction: received frames by seq and ack, sent ones by cseq and client-ack
 * (send-queue.ts) — and stops, saying why, when the server refuses the token or the room.
 * Runs in browsers and in Node ≥ 22 (global WebSocket and fetch).
 */
import { CloseCode, ErrorCode } from "../../protocol/errors.ts";
import { PING_FRAME, PONG_FRAME } from "../../protocol/keepalive.ts";
import type {
  BroadcastMessage,
  ClientAckMessage,
  ClientMessage,
  ErrorMessage,
  Metadata,
  PeerInfo,
  PeerJoinedMessage,
  PeerLeftMessage,
  PeerReconnectingMessage,
  PeerResumedMessage,
  PeerUpdatedMessage,
  QualityMessage,
  RoomLimits,
  ServerMessage,
  SignalMessage,
  WelcomeMessage,
} from "../../protocol/messages.ts";
import { AckBatcher } from "./ack-batcher.ts";
import { type BackoffOptions, backoffDelay } from "./backoff.ts";
import { errorFromResponse, SwitchboardError } from "./client-error.ts";
import { Emitter } from "./emitter.ts";
import { SendPacer } from "./send-pacer.ts";
import { CLIENT_SEQ_MAX_CHARS, SendQueue } from "./send-queue.ts";
import { resolveToken, type TokenSource, webSocketUrl } from "./token-source.ts";

/**
 * Connection state. `connecting` until the first welcome; `connected` while a welcomed socket is open;
 * `reconnecting` between a drop and the next welcome; `closed` after `leave()`; `failed` when the client
 * gave up (token refused, room full, kicked) — the `error` event says why.
 */
export type RoomState = "idle" | "connecting" | "connected" | "reconnecting" | "closed" | "failed";

/** Options of a Room; only baseUrl, room and token are required. */
export interface RoomOptions {
  /** Worker origin, e.g. `https://switchboard.example.com` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Room name (letters, digits, `-`, `_`, `.`). */
  room: string;
  /** Room token, or a function returning one; a function is called again when the server says it expired. */
  token: TokenSource;
  /** Cumulative ack batching: longest wait in ms (default 100). */
  ackIntervalMs?: number;
  /** Cumulative ack batching: ack at once after this many new frames (default 32). */
  ackEveryFrames?: number;
  /** Keep-alive ping period in ms (default 20 000); the server answers without waking the room. */
  pingIntervalMs?: number;
  /** A socket silent for pingIntervalMs + this is treated as dead and replaced (default 10 000 ms). */
  pongTimeoutMs?: number;
  /** Reconnect backoff (defaults: 250 ms doubling to 10 s, equal jitter). */
  backoff?: BackoffOptions;
  /** Give up after this many consecutive failed attempts (default: never, while the resume grace lasts forever). */
  maxReconnectAttempts?: number;
  /**
   * Durable frames waiting to be sent — while disconnected (sent after resume), paced to the room's rate
   * limit, or waiting for the send window (default 1000); beyond that the oldest never-sent ones are dropped
   * with a `queue_full` error.
   */
  maxQueuedFrames?: number;
  /**
   * Durable frames sent and not yet acknowledged by the room (`client-ack`), kept to be sent again after a
   * resume (default 256). When that many are unacknowledged, further frames wait in the queue above.
   */
  maxUnackedFrames?: number;
  /** After a resumed welcome, peers missing from its list are dropped if no `peer-left` arrives within this (default 2 000 ms). */
  reconcileDelayMs?: number;
  /** WebSocket constructor (default: the global one). */
  WebSocket?: typeof WebSocket;
  /** fetch implementation for the failure probe (default: the global one). */
  fetch?: typeof fetch;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** The `welcome` event: the server's welcome plus whether the earlier session was lost. */
export interface RoomWelcome extends WelcomeMessage {
  /**
   * True when a resume failed and this is a fresh session with a new peerId: per-peer state (peer
   * connections) must be rebuilt from `peers`. Always false on the first welcome and on a resume.
   */
  sessionReset: boolean;
}

/** A peer with its reconnecting flag (true between `peer-reconnecting` and `peer-resumed`). */
export interface RoomPeer extends PeerInfo {
  reconnecting: boolean;
}

/** Events of a Room. */
export interface RoomEvents {
  [key: string]: unknown;
  state: { state: RoomState; previous: RoomState };
  welcome: RoomWelcome;
  "peer-joined": PeerJoinedMessage;
  "peer-reconnecting": PeerReconnectingMessage;
  "peer-resumed": PeerResumedMessage;
  "peer-left": PeerLeftMessage;
  "peer-updated": PeerUpdatedMessage;
  signal: SignalMessage;
  broadcast: BroadcastMessage;
  quality: QualityMessage;
  /** A refusal or failure; `fatal` errors come with state `failed` (no more retries). */
  error: SwitchboardError;
  /** A reconnect attempt is scheduled after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
}

/**
 * Close code the client uses when it replaces a socket it believes dead (or on `reconnect()`): any code
 * but 1000/1001 tells the room this is a drop, not a goodbye, so the resume grace applies.
 */
export const CLIENT_RECONNECT_CLOSE_CODE = 4000;

/** Close codes after which reconnecting is pointless or forbidden (protocol/errors.ts CloseCode). */
const FATAL_CLOSE: ReadonlyMap<number, { code: SwitchboardError["code"]; message: string }> = new Map([
  [CloseCode.kicked, { code: "kicked", message: "an admin removed you from the room" }],
  [CloseCode.roomClosed, { code: "room_closed", message: "an admin closed the room" }],
  [CloseCode.replaced, { code: "replaced", message: "this session was resumed on another connection" }],
  [CloseCode.abuse, { code: "abuse", message: "the room closed the connection after repeated refused frames" }],
]);

/** Error-frame codes that end the session when they arrive before the welcome. */
const FATAL_BEFORE_WELCOME = new Set<string>([
  ErrorCode.roomFull,
  ErrorCode.unauthorized,
  ErrorCode.tokenExpired,
  ErrorCode.tokenInvalid,
  ErrorCode.wrongRoom,
  ErrorCode.invalidRoom,
  ErrorCode.forbidden,
]);

const textEncoder = new TextEncoder();
const OPEN = 1;

/**
 * One participant's connection to a room. Call `connect()`, subscribe with `on(...)`, send with
 * `signal()` / `broadcast()` / `setMetadata()` / `sendQuality()`, and end with `leave()`.
 */
export class Room extends Emitter<RoomEvents> {
  readonly options: Readonly<RoomOptions>;
  readonly #acks: AckBatcher;
  readonly #peers = new Map<string, RoomPeer>();
  /** Durable frames: waiting (while no welcomed socket is open, or paced) and sent but not yet acknowledged. */
  readonly #outbox: SendQueue;
  #state: RoomState = "idle";
  #socket: WebSocket | undefined;
  #welcomed = false;
  #peerId: string | undefined;
  #resumeToken: string | undefined;
  #limits: RoomLimits | undefined;
  #token: string | undefined;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #reconcileTimer: ReturnType<typeof setTimeout> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  /** Mirrors the server's per-connection token bucket (reset on every welcome: a new socket starts full). */
  #pacer: SendPacer | undefined;
  #lastReceivedAt = 0;
  /** After the room refused a frame for its rate, no durable frame goes out before this time (ms). */
  #pausedUntil = 0;
  #lastWelcome: RoomWelcome | undefined;
  /** Whether the token was already re-fetched since the last welcome (at most once per outage). */
  #tokenRefreshed = false;
  #metadata: Metadata | undefined;
  #connectWaiters: { resolve: (welcome: RoomWelcome) => void; reject: (error: SwitchboardError) => void }[] = [];

  constructor(options: RoomOptions) {
    super();
    if (!options.baseUrl) throw new TypeError("Room: baseUrl is required");
    if (!options.room) throw new TypeError("Room: room is required");
    if (options.token === undefined || options.token === "") throw new TypeError("Room: token is required");
    this.options = options;
    this.#acks = new AckBatcher((seq) => this.#sendControl(JSON.stringify({ type: "ack", seq })), {
      intervalMs: options.ackIntervalMs,
      maxFrames: options.ackEveryFrames,
    });
    this.#outbox = new SendQueue({ maxQueued: options.maxQueuedFrames ?? 1000, maxUnacked: options.maxUnackedFrames ?? 256 });
  }

  /** Current connection state. */
  get state(): RoomState {
    return this.#state;
  }

  /** This peer's server-assigned id (after the first welcome). */
  get peerId(): string | undefined {
    return this.#peerId;
  }

  /** The other peers currently in the room. */
  get peers(): ReadonlyMap<string, RoomPeer> {
    return this.#peers;
  }

  /** Limits the server announced in its welcome. */
  get limits(): RoomLimits | undefined {
    return this.#limits;
  }

  /** Highest durable seq received (sent as `lastSeq` on resume). */
  get lastSeq(): number {
    return this.#acks.lastSeq;
  }

  /** Number of durable frames waiting to be sent (for a connection, the rate limit or the send window). */
  get queuedFrames(): number {
    return this.#outbox.pending;
  }

  /** Number of durable frames sent and not yet acknowledged by the room (sent again after a resume). */
  get unackedFrames(): number {
    return this.#outbox.unacked;
  }

  /**
   * Whether the room acknowledges this client's durable frames (`client-ack`, protocol docs "Client sequence
   * numbers"), so a frame written just before a drop is sent again after the resume. False before the first
   * welcome and with an older server, whose welcome carries no `lastClientSeq`.
   */
  get acknowledgesClientFrames(): boolean {
    return this.#welcomed && this.#outbox.numbering;
  }

  /**
   * Opens the connection; resolves with the first welcome, rejects with a SwitchboardError when the
   * client gives up first (token refused, room full). Later drops are handled automatically.
   */
  connect(): Promise<RoomWelcome> {
    if (this.#state === "closed" || this.#state === "failed") {
      return Promise.reject(new SwitchboardError("closed", `the room connection is ${this.#state}`));
    }
    if (this.#lastWelcome) return Promise.resolve(this.#lastWelcome);
    const waiter = new Promise<RoomWelcome>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#state === "idle") {
      this.#setState("connecting");
      void this.#open();
    }
    return waiter;
  }

  /** Sends `data` to one peer; queued while disconnected and delivered after resume. */
  signal(to: string, data: unknown): void {
    this.#sendDurable({ type: "signal", to, data });
  }

  /**
   * Sends `data` to every other peer. Durable broadcasts are queued while disconnected; `ephemeral`
   * ones are dropped then (they carry no seq and are never retained, by design).
   */
  broadcast(data: unknown, options: { ephemeral?: boolean } = {}): void {
    const frame: ClientMessage = options.ephemeral ? { type: "broadcast", data, ephemeral: true } : { type: "broadcast", data };
    if (options.ephemeral) this.#sendEphemeral(frame);
    else this.#sendDurable(frame);
  }

  /** Replaces this peer's metadata (others get `peer-updated`); re-sent after a session reset. */
  setMetadata(metadata: Metadata): void {
    this.#metadata = metadata;
    this.#sendDurable({ type: "metadata", metadata });
  }

  /** Shares a connection-quality report with the room (ephemeral: dropped while disconnected). */
  sendQuality(report: Record<string, unknown>): void {
    this.#sendEphemeral({ type: "quality", report });
  }

  /** Admin grant: removes a peer from the room. */
  kick(peerId: string, reason?: string): void {
    this.#sendDurable(reason === undefined ? { type: "kick", peerId } : { type: "kick", peerId, reason });
  }

  /** Admin grant: disconnects everyone and forgets the room. */
  closeRoom(): void {
    this.#sendDurable({ type: "close-room" });
  }

  /**
   * Replaces the socket now and resumes (a network change, or tests simulating a drop). The old socket
   * is closed with CLIENT_RECONNECT_CLOSE_CODE, which the room treats as a drop, not a goodbye.
   */
  reconnect(): void {
    if (this.#state === "closed" || this.#state === "failed" || this.#state === "idle") return;
    this.#dropSocket(CLIENT_RECONNECT_CLOSE_CODE, "client reconnect");
    this.#scheduleReconnect(0);
  }

  /**
   * Deliberate goodbye: sends `{"type":"leave"}` and closes with 1000, so the others see `peer-left` at
   * once. Resolves when the socket has closed (or after 1 s). The Room cannot be reused.
   */
  leave(): Promise<void> {
    if (this.#state === "closed" || this.#state === "failed") return Promise.resolve();
    const socket = this.#socket;
    this.#finish("closed");
    if (!socket || socket.readyState !== OPEN) {
      socket?.close(CloseCode.normal, "leave");
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.send(JSON.stringify({ type: "leave" }));
      socket.close(CloseCode.normal, "leave");
    });
  }

  // ---------- connection ----------

  async #open(): Promise<void> {
    if (this.#isOver()) return;
    let token: string;
    try {
      this.#token ??= await resolveToken(this.options.token);
      token = this.#token;
    } catch (error) {
      this.#fail(new SwitchboardError("unauthorized", `could not get a room token: ${String(error)}`, { fatal: true }));
      return;
    }
    if (this.#isOver()) return;
    const url = this.#socketUrl(token);
    const WebSocketImpl = this.options.WebSocket ?? globalThis.WebSocket;
    let socket: WebSocket;
    try {
      socket = new WebSocketImpl(url);
    } catch (error) {
      this.#fail(new SwitchboardError("bad_request", `cannot open ${url.origin}: ${String(error)}`, { fatal: true }));
      return;
    }
    this.#socket = socket;
    this.#welcomed = false;
    let opened = false;
    let fatalFrame: SwitchboardError | undefined;
    socket.onopen = () => {
      opened = true;
      this.#lastReceivedAt = Date.now();
      this.#startPing();
    };
    socket.onmessage = (event) => {
      if (socket !== this.#socket) return;
      this.#lastReceivedAt = Date.now();
      if (typeof event.data !== "string") return;
      fatalFrame = this.#onFrame(event.data) ?? fatalFrame;
    };
    const onGone = (code: number) => {
      if (socket !== this.#socket) return;
      this.#socket = undefined;
      this.#stopTimers();
      if (this.#isOver()) return;
      const fatalClose = FATAL_CLOSE.get(code);
      if (fatalFrame) this.#fail(fatalFrame);
      else if (fatalClose) this.#fail(new SwitchboardError(fatalClose.code, fatalClose.message, { fatal: true }));
      else if (!opened) void this.#probeFailure(url);
      else this.#scheduleReconnect();
    };
    socket.onclose = (event) => onGone(event.code);
    // Browsers follow an error with a close event (WHATWG WebSockets, "fail the WebSocket connection"),
    // but Node's WebSocket may not after a refused handshake: treat the error as an abnormal close (1006).
    socket.onerror = () => {
      onGone(1006);
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    };
  }

  #socketUrl(token: string): URL {
    const url = webSocketUrl(this.options.baseUrl, `v1/rooms/${encodeURIComponent(this.options.room)}/ws`);
    url.searchParams.set("token", token);
    if (this.#resumeToken) {
      url.searchParams.set("resume", this.#resumeToken);
      url.searchParams.set("lastSeq", String(this.#acks.lastSeq));
    }
    return url;
  }

  /**
   * A socket that never opened hides the HTTP answer from the page (WHATWG WebSockets gives only
   * 1006). A plain GET of the same URL without the upgrade reveals it: the route checks the token
   * before the upgrade, so 401/403 come back as problem JSON and end the retries.
   */
  async #probeFailure(url: URL): Promise<void> {
    const probeUrl = new URL(url);
    probeUrl.protocol = url.protocol === "wss:" ? "https:" : "http:";
    let response: Response | undefined;
    try {
      response = await (this.options.fetch ?? fetch)(probeUrl, { headers: { accept: "application/json" } });
    } catch {
      // The server is unreachable: a network problem, retried with backoff.
    }
    if (this.#isOver()) return;
    if (response && (response.status === 401 || response.status === 403 || response.status === 400 || response.status === 404)) {
      const error = await errorFromResponse(response, response.status === 401 ? "unauthorized" : "forbidden", true);
      if (error.code === ErrorCode.tokenExpired && typeof this.options.token === "function" && !this.#tokenRefreshed) {
        // The token source can mint a fresh token: try once more at once before giving up.
        this.#tokenRefreshed = true;
        this.#token = undefined;
        void this.#open();
        return;
      }
      this.#fail(error);
      return;
    }
    if (response) await response.body?.cancel().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(delayOverrideMs?: number): void {
    if (this.#isOver()) return;
    this.#acks.cancel();
    if (this.#state !== "connecting") this.#setState("reconnecting");
    const max = this.options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY;
    if (this.#attempt >= max) {
      this.#fail(new SwitchboardError("network", `gave up after ${this.#attempt} reconnect attempts`, { fatal: true }));
      return;
    }
    const delayMs = delayOverrideMs ?? backoffDelay(this.#attempt, this.options.backoff, this.options.random);
    this.#attempt++;
    this.emit("reconnecting", { attempt: this.#attempt, delayMs });
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#open();
    }, delayMs);
  }

  #startPing(): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    const pongTimeout = this.options.pongTimeoutMs ?? 10_000;
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    // Browsers expose no WebSocket ping; an application ping both keeps NATs and proxies from idling the
    // socket out and reveals a dead one (the server's auto-response answers without waking the room).
    this.#pingTimer = setInterval(() => {
      const sentAt = Date.now();
      if (!this.#sendNow(PING_FRAME)) return;
      if (this.#pongTimer !== undefined) clearTimeout(this.#pongTimer);
      this.#pongTimer = setTimeout(() => {
        this.#pongTimer = undefined;
        if (this.#lastReceivedAt >= sentAt) return;
        this.#dropSocket(CLIENT_RECONNECT_CLOSE_CODE, "no answer to ping");
        this.#scheduleReconnect();
      }, pongTimeout);
    }, interval);
  }

  /** Forgets the current socket without waiting for its close event (a dead TCP may take minutes). */
  #dropSocket(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#stopTimers();
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  #stopTimers(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    if (this.#pongTimer !== undefined) clearTimeout(this.#pongTimer);
    if (this.#pumpTimer !== undefined) clearTimeout(this.#pumpTimer);
    this.#pingTimer = this.#pongTimer = this.#pumpTimer = undefined;
    this.#acks.cancel();
  }

  // ---------- inbound ----------

  /** Handles one text frame; returns an error that must end the session when the socket closes. */
  #onFrame(text: string): SwitchboardError | undefined {
    if (text === PONG_FRAME) return undefined;
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      return undefined;
    }
    if (message.type === "welcome") {
      this.#onWelcome(message);
      return undefined;
    }
    if (message.type === "error") return this.#onError(message);
    if (message.type === "client-ack") {
      this.#onClientAck(message);
      return undefined;
    }
    if ("seq" in message && typeof message.seq === "number" && !this.#acks.receive(message.seq)) return undefined;
    switch (message.type) {
      case "signal":
        this.emit("signal", message);
        break;
      case "peer-joined":
        this.#onPeerJoined(message);
        break;
      case "peer-left":
        if (this.#peers.delete(message.peerId)) this.emit("peer-left", message);
        break;
      case "peer-reconnecting":
        this.#setReconnecting(message.peerId, true);
        this.emit("peer-reconnecting", message);
        break;
      case "peer-resumed":
        this.#setReconnecting(message.peerId, false);
        this.emit("peer-resumed", message);
        break;
      case "peer-updated": {
        const peer = this.#peers.get(message.peerId);
        if (peer) peer.metadata = message.metadata;
        this.emit("peer-updated", message);
        break;
      }
      case "broadcast":
        this.emit("broadcast", message);
        break;
      case "quality":
        this.emit("quality", message);
        break;
    }
    return undefined;
  }

  #onWelcome(welcome: WelcomeMessage): void {
    const previousPeerId = this.#peerId;
    const sessionReset = previousPeerId !== undefined && !welcome.resumed;
    this.#peerId = welcome.peerId;
    this.#resumeToken = welcome.resumeToken;
    this.#limits = welcome.limits;
    this.#pacer = new SendPacer(welcome.limits.ratePerSecond, welcome.limits.rateBurst, Date.now());
    this.#welcomed = true;
    this.#attempt = 0;
    this.#tokenRefreshed = false;
    this.#pausedUntil = 0;
    // A room that numbers client frames says so with lastClientSeq (0 on a fresh session); an older one omits it.
    const numbering = typeof welcome.lastClientSeq === "number";
    this.#outbox.numbering = numbering;
    if (welcome.resumed) {
      // The server accepted ?lastSeq=: everything up to it counts as acknowledged.
      this.#acks.reset(this.#acks.lastSeq);
      // Frames the room did not process before the drop go again, in order, before new ones. An older room
      // cannot drop duplicates, so there frames already sent are not sent again (protocol v1).
      if (numbering) this.#outbox.resume(welcome.lastClientSeq as number);
      else this.#outbox.restart();
    } else {
      this.#acks.reset(0);
      // A new session: frames sent in the old one are gone with it (whether they arrived is unknowable).
      this.#outbox.restart();
      if (sessionReset) {
        // Signals queued for the old session name a peerId that no longer exists: drop them.
        this.#outbox.dropPending((frame) => frame.startsWith('{"type":"signal"'));
        if (this.#metadata && !this.#outbox.hasPending((frame) => frame.startsWith('{"type":"metadata"'))) {
          this.#outbox.push(JSON.stringify({ type: "metadata", metadata: this.#metadata }));
        }
      }
    }
    const fresh = new Map(welcome.peers.map((peer) => [peer.peerId, peer]));
    if (welcome.resumed) this.#reconcileAfterResume(fresh);
    else {
      this.#peers.clear();
      for (const peer of welcome.peers) this.#peers.set(peer.peerId, { ...peer, reconnecting: false });
    }
    const event: RoomWelcome = { ...welcome, sessionReset };
    this.#lastWelcome = event;
    this.#setState("connected");
    this.emit("welcome", event);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve(event);
    this.#pump();
  }

  /**
   * After a resume the missed frames follow the welcome, so peer changes arrive as events. The welcome's
   * list also covers what retention may have lost: unknown peers are announced at once, and peers it no
   * longer lists are dropped unless a replayed `peer-left` already did so within reconcileDelayMs.
   */
  #reconcileAfterResume(current: Map<string, PeerInfo>): void {
    for (const [peerId, peer] of current) {
      if (!this.#peers.has(peerId)) this.#onPeerJoined({ type: "peer-joined", peerId, peer, seq: 0 });
    }
    const missing = [...this.#peers.keys()].filter((peerId) => !current.has(peerId));
    if (missing.length === 0) return;
    if (this.#reconcileTimer !== undefined) clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = undefined;
      for (const peerId of missing) {
        if (this.#peers.delete(peerId)) this.emit("peer-left", { type: "peer-left", peerId, reason: "timeout", seq: 0 });
      }
    }, this.options.reconcileDelayMs ?? 2000);
  }

  #onPeerJoined(message: PeerJoinedMessage): void {
    const known = this.#peers.has(message.peerId);
    this.#peers.set(message.peerId, { ...message.peer, peerId: message.peerId, reconnecting: false });
    if (!known) this.emit("peer-joined", message);
  }

  #setReconnecting(peerId: string, reconnecting: boolean): void {
    const peer = this.#peers.get(peerId);
    if (peer) peer.reconnecting = reconnecting;
  }

  /** The room stored every frame up to `cseq`: forget them, and send more if the window was full. */
  #onClientAck(message: ClientAckMessage): void {
    if (typeof message.cseq !== "number") return;
    if (this.#outbox.acknowledge(message.cseq)) this.#pump();
  }

  #onError(message: ErrorMessage): SwitchboardError | undefined {
    if (this.#welcomed && this.#outbox.numbering && typeof message.cseq === "number") {
      if (message.code === ErrorCode.rateLimited) {
        // Not processed, nor anything after it: send it and the rest again once the room's bucket has refilled
        // (at ratePerSecond tokens a second; our pacer mirrors it only approximately).
        this.#outbox.rewind(message.cseq);
        this.#pausedUntil = Date.now() + 1000;
        this.#schedulePump(1000);
        return undefined;
      }
      if (message.code === ErrorCode.outOfOrder) {
        // An earlier frame was refused: everything after what the room processed goes again (duplicates are dropped).
        if (typeof message.lastClientSeq === "number") this.#outbox.rewind(message.lastClientSeq + 1);
        this.#pump();
        return undefined;
      }
    }
    if (message.code === ErrorCode.resumeFailed) {
      // The grace ended or the token is unknown: the server starts a fresh session (or closes, and the
      // next attempt joins fresh). Either way the old resume token is useless now.
      this.#resumeToken = undefined;
      this.emit("error", new SwitchboardError(message.code, message.message));
      return undefined;
    }
    const fatal = !this.#welcomed && FATAL_BEFORE_WELCOME.has(message.code);
    const error = new SwitchboardError(message.code, message.message, { fatal });
    if (!fatal) this.emit("error", error);
    return fatal ? error : undefined;
  }

  // ---------- outbound ----------

  /** Durable frames always pass through the outbox: sent at once when connected and within the rate. */
  #sendDurable(frame: ClientMessage): void {
    if (this.#state === "closed" || this.#state === "failed") {
      throw new SwitchboardError("closed", `cannot send on a ${this.#state} room connection`);
    }
    if (this.#outbox.push(this.#encode(frame, CLIENT_SEQ_MAX_CHARS)) > 0) {
      const max = this.options.maxQueuedFrames ?? 1000;
      this.emit("error", new SwitchboardError("queue_full", `more than ${max} frames waiting to be sent; the oldest were dropped`));
    }
    this.#pump();
  }

  /** Ephemeral frames go out only when connected and well within the rate; otherwise they are dropped. */
  #sendEphemeral(frame: ClientMessage): void {
    if (!this.#welcomed || !this.#pacer || this.#outbox.pending > 0) return;
    const text = this.#encode(frame);
    if (this.#socketOpen() && this.#pacer.take(Date.now(), this.#reserve())) this.#sendNow(text);
  }

  /** Acks and other control frames: never delayed, but counted against the rate. */
  #sendControl(text: string): boolean {
    if (!this.#sendNow(text)) return false;
    this.#pacer?.force(Date.now());
    return true;
  }

  /** Tokens kept back for acks, so app frames can never starve them. */
  #reserve(): number {
    return Math.min(4, Math.floor((this.#limits?.rateBurst ?? 0) / 4));
  }

  #socketOpen(): boolean {
    return this.#socket !== undefined && this.#socket.readyState === OPEN;
  }

  /** JSON text of a frame; throws too_large when it (plus `extraChars` added later, e.g. its cseq) exceeds the limit. */
  #encode(frame: ClientMessage, extraChars = 0): string {
    const text = JSON.stringify(frame);
    const max = this.#limits?.maxFrameBytes;
    if (max !== undefined && (text.length + extraChars) * 3 > max) {
      const bytes = textEncoder.encode(text).byteLength + extraChars;
      if (bytes > max) throw new SwitchboardError("too_large", `frame of ${bytes} bytes exceeds the room's ${max}-byte limit`);
    }
    return text;
  }

  #sendNow(text: string): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(text);
    return true;
  }

  /**
   * Sends queued frames in order while the socket is welcomed, the send window has room and the pacer has
   * tokens; resumes later (timer, or the next client-ack for a full window) otherwise.
   */
  #pump(): void {
    if (this.#pumpTimer !== undefined || !this.#welcomed || !this.#pacer) return;
    const reserve = this.#reserve();
    while (this.#outbox.ready && this.#socketOpen()) {
      const now = Date.now();
      if (now < this.#pausedUntil) {
        this.#schedulePump(this.#pausedUntil - now);
        return;
      }
      if (!this.#pacer.take(now, reserve)) {
        this.#schedulePump(this.#pacer.msUntil(reserve + 1, now));
        return;
      }
      this.#sendNow(this.#outbox.take());
    }
  }

  #schedulePump(delayMs: number): void {
    if (this.#pumpTimer !== undefined) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = undefined;
      this.#pump();
    }, delayMs);
  }

  // ---------- state ----------

  /** True once the room was left or given up (checked again after every await). */
  #isOver(): boolean {
    return this.#state === "closed" || this.#state === "failed";
  }

  #setState(state: RoomState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit("state", { state, previous });
  }

  #fail(error: SwitchboardError): void {
    this.#finish("failed");
    this.emit("error", error);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
  }

  #finish(state: "closed" | "failed"): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    if (this.#reconcileTimer !== undefined) clearTimeout(this.#reconcileTimer);
    this.#reconnectTimer = this.#reconcileTimer = undefined;
    this.#stopTimers();
    this.#outbox.clear();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket && state === "failed") {
      socket.onclose = null;
      socket.close(CloseCode.normal, "giving up");
    }
    this.#welcomed = false;
    this.#setState(state);
    if (state === "closed") {
      for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(new SwitchboardError("closed", "left the room"));
    }
  }
}
