/**
 * One benchmark client: a `ws` socket speaking one target's dialect. It timestamps every inbound frame on
 * arrival (before parsing) with the high-resolution clock, hands bench payloads to `onPayload`, and — for
 * the Room — behaves as a real client: a cumulative `ack` every ACK_EVERY durable frames or ACK_DELAY_MS
 * after the first unacknowledged one, and a keep-alive ping every PING_INTERVAL_MS (docs/protocol.md).
 */
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { PING_FRAME } from "../../protocol/keepalive.ts";
import type { BenchData, Dialect, Frame } from "./targets.ts";

/** Acknowledge after this many durable frames … */
export const ACK_EVERY = 32;
/** … or this long after the first unacknowledged one. */
export const ACK_DELAY_MS = 50;
/** Keep-alive ping period (the Room's sweep closes sockets silent for 60 s). */
const PING_INTERVAL_MS = 20_000;
/** How many refusal frames a client keeps for the report. */
const KEPT_ERRORS = 3;

/** Called for every bench payload received, with its arrival time (performance.now(), ms). */
export type PayloadHandler = (data: BenchData, receivedAt: number) => void;

/** A connected client. */
export class BenchClient {
  readonly peerId: string;
  readonly dialect: Dialect;
  onPayload: PayloadHandler = () => {};
  /** Refusal frames received (error frames), and the first few of them. */
  errorCount = 0;
  readonly firstErrors: string[] = [];
  /** Durable frames whose seq was not the previous one + 1 (Room: must stay 0). */
  seqGaps = 0;
  acksSent = 0;
  /** Set when the socket closed without close() being called. */
  unexpectedClose: number | undefined;

  readonly #ws: WebSocket;
  #closing = false;
  #lastSeq = 0;
  #ackedSeq = 0;
  #unacked = 0;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(ws: WebSocket, dialect: Dialect, peerId: string) {
    this.#ws = ws;
    this.dialect = dialect;
    this.peerId = peerId;
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on("close", (code) => {
      this.#stopTimers();
      if (!this.#closing) this.unexpectedClose = code;
    });
    if (dialect.acknowledges) this.#pingTimer = setInterval(() => this.send(PING_FRAME), PING_INTERVAL_MS);
  }

  /** Writes one text frame. */
  send(text: string): void {
    this.#ws.send(text);
  }

  /** Bytes queued in the client but not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Closes with 1000 (a deliberate goodbye); resolves on the close handshake or after `timeoutMs` (then terminates). */
  close(timeoutMs = 5_000): Promise<void> {
    this.#closing = true;
    this.#stopTimers();
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#ws.terminate();
        resolve();
      }, timeoutMs);
      this.#ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.#ws.close(1000, "bench done");
    });
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const receivedAt = performance.now();
    if (isBinary) return;
    let frame: Frame;
    try {
      frame = JSON.parse(String(data)) as Frame;
    } catch {
      this.#recordError(`not JSON: ${String(data).slice(0, 80)}`);
      return;
    }
    if (this.dialect.acknowledges && typeof frame.seq === "number") this.#onSeq(frame.seq);
    const payload = this.dialect.payload(frame);
    if (payload !== undefined) {
      this.onPayload(payload, receivedAt);
      return;
    }
    if (this.dialect.isError(frame)) this.#recordError(JSON.stringify(frame).slice(0, 200));
  }

  #onSeq(seq: number): void {
    if (seq !== this.#lastSeq + 1) this.seqGaps++;
    if (seq > this.#lastSeq) this.#lastSeq = seq;
    this.#unacked++;
    if (this.#unacked >= ACK_EVERY) this.#ack();
    else this.#ackTimer ??= setTimeout(() => this.#ack(), ACK_DELAY_MS);
  }

  #ack(): void {
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#unacked = 0;
    if (this.#lastSeq <= this.#ackedSeq || this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ackedSeq = this.#lastSeq;
    this.acksSent++;
    this.#ws.send(`{"type":"ack","seq":${this.#lastSeq}}`);
  }

  #recordError(text: string): void {
    this.errorCount++;
    if (this.firstErrors.length < KEPT_ERRORS) this.firstErrors.push(text);
  }

  #stopTimers(): void {
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#ackTimer = undefined;
    this.#pingTimer = undefined;
  }
}

/** Opens client `index` of `group` and waits for its first frame (welcome / OPEN); rejects with the reason. */
export async function openClient(dialect: Dialect, group: string, index: number, timeoutMs: number): Promise<BenchClient> {
  const url = await dialect.url(group, index);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise<BenchClient>((resolve, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {}); // a late socket error after terminate must not crash the harness
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${dialect.name}: no first frame within ${timeoutMs} ms`)), timeoutMs);
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => fail(new Error(`${dialect.name}: HTTP ${response.statusCode} ${body.slice(0, 200)}`)));
    });
    ws.on("error", (error) => fail(new Error(`${dialect.name}: ${error.message}`)));
    ws.once("message", (data) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {}); // errors surface as a close (unexpectedClose) or a stalled workload
      try {
        const frame = JSON.parse(String(data)) as Frame;
        resolve(new BenchClient(ws, dialect, dialect.peerIdFromWelcome(frame, url)));
      } catch (error) {
        ws.terminate();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** Opens clients 0…count-1 of `group` one after another (so each welcome lists the earlier peers). */
export async function openGroup(dialect: Dialect, group: string, count: number, timeoutMs: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  try {
    for (let index = 0; index < count; index++) clients.push(await openClient(dialect, group, index, timeoutMs));
  } catch (error) {
    await closeAll(clients);
    throw error;
  }
  return clients;
}

/** Closes clients, at most `concurrency` handshakes at a time. */
export async function closeAll(clients: readonly BenchClient[], concurrency = 50): Promise<void> {
  for (let start = 0; start < clients.length; start += concurrency) {
    await Promise.all(clients.slice(start, start + concurrency).map((client) => client.close()));
  }
}
