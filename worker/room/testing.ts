/**
 * Test helpers for room tests inside workerd: token minting, unique room names and a WebSocket test peer
 * whose waits are all bounded. Not part of the worker bundle (only tests import it).
 */
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ServerMessage, WelcomeMessage } from "../../protocol/messages.ts";
import { type MintRoomTokenOptions, mintRoomToken } from "../../protocol/room-token.ts";
import type { Env } from "../env.ts";
import type { Room } from "./room.ts";

/**
 * The ROOM_TOKEN_SECRET and ADMIN_TOKEN of vitest.config.ts TEST_BINDINGS. Duplicated because that file
 * imports the Node-only vitest plugin and cannot load inside workerd.
 */
export const TEST_ROOM_TOKEN_SECRET = "test-room-token-secret-0123456789abcdef";
export const TEST_ADMIN_TOKEN = "test-admin-token";
export const ORIGIN = "https://switchboard.test";

/** Longest a test waits for one event. */
export const WAIT_MS = 3000;

/** A room name no other test uses. */
export function uniqueRoom(prefix = "room"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

/** A room token signed with the test secret. */
export function roomToken(room: string, userId: string, options: Partial<MintRoomTokenOptions> = {}): Promise<string> {
  return mintRoomToken(TEST_ROOM_TOKEN_SECRET, { room, userId, ...options });
}

/** The Room stub for `room`, for runInDurableObject / runDurableObjectAlarm / evictDurableObject. */
export function roomStub(room: string): DurableObjectStub<Room> {
  const namespace = (env as unknown as Env).ROOMS as DurableObjectNamespace<Room>;
  return namespace.get(namespace.idFromName(room));
}

/** A frame the server sent, as parsed JSON. */
export type Frame = ServerMessage & Record<string, unknown>;

/** How a socket closed. */
export interface Closed {
  code: number;
  reason: string;
}

/** Options of TestPeer.connect. */
export interface ConnectOptions extends Partial<MintRoomTokenOptions> {
  /** Use this token instead of minting one. */
  token?: string;
  resume?: string;
  lastSeq?: number;
  /** Extra request headers (e.g. forged handoff headers). */
  headers?: Record<string, string>;
  /** Do not read the first frame as a welcome (refused joins, failed resumes). */
  noWelcome?: boolean;
}

/** Connects a raw upgrade request; returns the Response (101 with webSocket, or a problem). */
export function upgrade(room: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  const url = new URL(`/v1/rooms/${encodeURIComponent(room)}/ws`, ORIGIN);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return SELF.fetch(url, { headers: { upgrade: "websocket", ...headers } });
}

/** One client socket with a frame queue and bounded waits. */
export class TestPeer {
  readonly ws: WebSocket;
  readonly userId: string;
  /** The welcome frame (unless connected with noWelcome). */
  welcome!: WelcomeMessage;
  readonly closed: Promise<Closed>;
  #frames: Frame[] = [];
  #waiter: (() => void) | undefined;
  #closedInfo: Closed | undefined;

  constructor(ws: WebSocket, userId: string) {
    this.ws = ws;
    this.userId = userId;
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        this.#closedInfo = { code: event.code, reason: event.reason };
        this.#waiter?.();
        resolve(this.#closedInfo);
      });
    });
    ws.addEventListener("message", (event) => {
      // The server only sends JSON text; anything else is recorded so a test fails on it visibly.
      const frame = typeof event.data === "string" ? (JSON.parse(event.data) as Frame) : ({ type: "binary" } as unknown as Frame);
      this.#frames.push(frame);
      this.#waiter?.();
    });
    ws.accept();
  }

  /** Joins `room` as `userId` (minting a token unless given) and reads the welcome. */
  static async connect(room: string, userId: string, options: ConnectOptions = {}): Promise<TestPeer> {
    const { token: given, resume, lastSeq, headers, noWelcome, ...mint } = options;
    const token = given ?? (await roomToken(room, userId, mint));
    const query: Record<string, string> = { token };
    if (resume !== undefined) query.resume = resume;
    if (lastSeq !== undefined) query.lastSeq = String(lastSeq);
    const response = await upgrade(room, query, headers);
    if (response.status !== 101 || !response.webSocket) {
      throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
    }
    const peer = new TestPeer(response.webSocket, userId);
    if (!noWelcome) {
      const first = await peer.next();
      if (first.type !== "welcome") throw new Error(`expected welcome, got ${JSON.stringify(first)}`);
      peer.welcome = first as WelcomeMessage;
    }
    return peer;
  }

  get peerId(): string {
    return this.welcome.peerId;
  }

  /** The next frame; rejects after `timeoutMs` or when the socket closes with nothing queued. */
  async next(timeoutMs = WAIT_MS): Promise<Frame> {
    // One real timer bounds the wait; no Date arithmetic, so tests that fake Date cannot stall it.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#waiter?.();
    }, timeoutMs);
    try {
      while (this.#frames.length === 0) {
        if (this.#closedInfo) throw new Error(`socket closed (${this.#closedInfo.code}) while waiting for a frame`);
        if (timedOut) throw new Error(`no frame within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    } finally {
      clearTimeout(timer);
      this.#waiter = undefined;
    }
    return this.#frames.shift() as Frame;
  }

  /** The next frame, which must be of `type`. */
  async expect<T extends Frame["type"]>(type: T, timeoutMs = WAIT_MS): Promise<Extract<Frame, { type: T }>> {
    const frame = await this.next(timeoutMs);
    if (frame.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
    return frame as Extract<Frame, { type: T }>;
  }

  /** Frames received and not yet read. */
  get pending(): readonly Frame[] {
    return this.#frames;
  }

  /** Sends a frame (objects are JSON-encoded). */
  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" || frame instanceof ArrayBuffer ? frame : JSON.stringify(frame));
  }

  /** Acknowledges every frame up to `seq`. */
  ack(seq: number): void {
    this.send({ type: "ack", seq });
  }

  /** Closes the socket from the client side. */
  close(code = 1000, reason = ""): void {
    this.ws.close(code, reason);
  }

  /** Waits for the socket to close (bounded). */
  async waitClosed(timeoutMs = WAIT_MS): Promise<Closed> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}

/** a and b in `room`, each having read the other's presence (b's seq 1 is nothing: b joined second). */
export async function pair(room: string): Promise<{ a: TestPeer; b: TestPeer }> {
  const a = await TestPeer.connect(room, "a");
  const b = await TestPeer.connect(room, "b");
  await a.expect("peer-joined");
  return { a, b };
}
