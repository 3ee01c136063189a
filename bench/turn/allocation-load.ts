/**
 * Opens many TURN allocations over raw UDP and holds them, so the benchmark can measure a server's memory
 * per live allocation. Each allocation needs its own 5-tuple (RFC 8656 §2.2), so each gets its own socket.
 * Flow per socket (RFC 8656 §7.1–7.2, RFC 8489 §9.2): Allocate → 401 (REALM, NONCE) → Allocate with
 * USERNAME, REALM, NONCE and MESSAGE-INTEGRITY under the long-term key; 438 Stale Nonce → retry once.
 */
import { createSocket, type Socket } from "node:dgram";
import {
  AttributeType,
  decodeMessage,
  encodeMessage,
  errorCodeOf,
  findAttribute,
  longTermKey,
  MessageType,
  newTransactionId,
  requestedTransportUdp,
  type StunAttribute,
  type StunMessage,
  textAttribute,
} from "./stun-message.ts";

/** What to open and how patiently. */
export interface AllocationLoadOptions {
  host: string;
  port: number;
  /** Allocations to open (one UDP socket each). */
  count: number;
  username: string;
  password: string;
  /** Allocations being set up at once. Default 50. */
  concurrency?: number;
  /** Give up on one request after this long, retransmitting meanwhile (RFC 8489 §6.2.1). Default 5 000 ms. */
  transactionTimeoutMs?: number;
  /** Stop starting new allocations after this long. Default 120 000 ms. */
  totalTimeoutMs?: number;
}

/** How many allocations are live, and why the others are not. */
export interface AllocationLoadResult {
  requested: number;
  opened: number;
  /** Failure reason → count, e.g. "timeout", "error 486", "deadline". */
  failures: Record<string, number>;
  elapsedMs: number;
}

/** Live allocations held open until release(). */
export interface AllocationHold {
  result: AllocationLoadResult;
  /** Closes every client socket (the server keeps the allocations until they expire or it stops). */
  release(): void;
}

/** Retransmission schedule of one request, ms after the first send: RTO 500 ms doubling (RFC 8489 §6.2.1). */
const RETRANSMIT_AT_MS = [500, 1500, 3500];

/** Opens `count` allocations with at most `concurrency` in progress; resolves when all are settled. */
export async function openAllocations(options: AllocationLoadOptions): Promise<AllocationHold> {
  const concurrency = options.concurrency ?? 50;
  const transactionTimeoutMs = options.transactionTimeoutMs ?? 5_000;
  const deadline = Date.now() + (options.totalTimeoutMs ?? 120_000);
  const sockets: Socket[] = [];
  const failures: Record<string, number> = {};
  let opened = 0;
  let next = 0;
  const started = Date.now();

  const worker = async (): Promise<void> => {
    while (next < options.count) {
      next += 1;
      if (Date.now() > deadline) {
        failures.deadline = (failures.deadline ?? 0) + 1;
        continue;
      }
      const socket = createSocket("udp4");
      sockets.push(socket);
      const outcome = await allocateOn(socket, options, transactionTimeoutMs);
      if (outcome === "ok") opened += 1;
      else failures[outcome] = (failures[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, options.count) }, worker));

  return {
    result: { requested: options.count, opened, failures, elapsedMs: Date.now() - started },
    release: () => {
      for (const socket of sockets) {
        try {
          socket.close();
        } catch {
          // Already closed after a bind error: nothing to release.
        }
      }
    },
  };
}

/** One allocation on one fresh socket; returns "ok" or a failure reason. */
async function allocateOn(socket: Socket, options: AllocationLoadOptions, timeoutMs: number): Promise<string> {
  const pending = new Map<string, (message: StunMessage) => void>();
  socket.on("error", () => {
    // ICMP errors and the like surface as timeouts of the pending transaction.
  });
  socket.on("message", (data) => {
    const message = decodeMessage(data);
    if (!message) return;
    const resolve = pending.get(message.transactionId.toString("hex"));
    if (resolve) resolve(message);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch {
    return "bind error";
  }

  const transact = (attributes: StunAttribute[], integrityKey?: Buffer): Promise<StunMessage | null> => {
    const transactionId = newTransactionId();
    const request = encodeMessage({
      type: MessageType.allocateRequest,
      transactionId,
      attributes,
      ...(integrityKey ? { integrityKey } : {}),
    });
    const key = transactionId.toString("hex");
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (message: StunMessage | null): void => {
        for (const timer of timers) clearTimeout(timer);
        pending.delete(key);
        resolve(message);
      };
      pending.set(key, finish);
      const send = (): void => socket.send(request, options.port, options.host);
      send();
      for (const at of RETRANSMIT_AT_MS) if (at < timeoutMs) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => finish(null), timeoutMs));
    });
  };

  const first = await transact([requestedTransportUdp()]);
  if (!first) return "timeout";
  if (first.type === MessageType.allocateSuccess) return "ok"; // a server without authentication
  let challenge = first;
  const key = longTermKey(options.username, readRealm(first) ?? "", options.password);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const code = errorCodeOf(challenge);
    if (code !== 401 && code !== 438) return `error ${code ?? "?"}`;
    const realm = readRealm(challenge);
    const nonce = findAttribute(challenge, AttributeType.nonce);
    if (realm === undefined || !nonce) return "challenge without realm/nonce";
    const answer = await transact(
      [
        textAttribute(AttributeType.username, options.username),
        textAttribute(AttributeType.realm, realm),
        { type: AttributeType.nonce, value: nonce },
        requestedTransportUdp(),
      ],
      key,
    );
    if (!answer) return "timeout";
    if (answer.type === MessageType.allocateSuccess) return "ok";
    challenge = answer; // RFC 8489 §9.2.5: 438 carries a fresh NONCE to retry with
  }
  return `error ${errorCodeOf(challenge) ?? "?"}`;
}

function readRealm(message: StunMessage): string | undefined {
  return findAttribute(message, AttributeType.realm)?.toString("utf8");
}
