/**
 * Workload 4 — scale: `rooms` rooms of `peersPerRoom` sockets each (1 000 sockets in 100 rooms in the full
 * run); every peer sends `framesPerPeer` signals to the next peer of its room. Counts that every frame
 * arrived exactly once (and in order); Room clients ack as real clients do, and their seqs must have no gaps.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep, setImmediate as yieldToIo } from "node:timers/promises";
import { type BenchClient, closeAll, openClient } from "./bench-client.ts";
import { mapPool } from "./pool.ts";
import { receipt } from "./receipt.ts";
import { benchData, type Dialect } from "./targets.ts";

/** Sizes and bounds of the scale workload. */
export interface ScaleSettings {
  rooms: number;
  peersPerRoom: number;
  framesPerPeer: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** Hard bound on waiting for delivery. */
  deliveryTimeoutMs: number;
  /** Give up earlier when nothing arrived for this long. */
  stallTimeoutMs: number;
  /** Time to wait after the last expected frame for late duplicates. */
  settleMs: number;
}

/** The scale workload's outcome. */
export interface ScaleRun {
  sockets: number;
  rooms: number;
  framesPerPeer: number;
  connectFailures: number;
  firstConnectFailure?: string;
  connectMs: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Room only: durable frames whose seq was not the previous + 1, over all clients. */
  seqGaps: number;
  /** Refusal frames (error / ERROR) received, over all clients, and the first few. */
  errors: number;
  firstErrors: string[];
  unexpectedCloses: number;
  deliverMs: number;
  framesPerSecond: number;
  error?: string;
}

/** What one receiver got from its one sender. */
interface Inbox {
  seen: Uint8Array;
  received: number;
  duplicates: number;
  outOfOrder: number;
  last: number;
}

/** Runs the workload against one target; connection failures and losses are results, not exceptions. */
export async function runScale(dialect: Dialect, groupPrefix: string, settings: ScaleSettings): Promise<ScaleRun> {
  const { rooms, peersPerRoom, framesPerPeer } = settings;
  const slots = Array.from({ length: rooms * peersPerRoom }, (_, slot) => slot);
  const connectStart = performance.now();
  const opened = await mapPool(slots, settings.connectConcurrency, async (slot) => {
    try {
      return await openClient(dialect, `${groupPrefix}-${Math.floor(slot / peersPerRoom)}`, slot % peersPerRoom, settings.connectTimeoutMs);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });
  const connectMs = performance.now() - connectStart;
  const clients = opened.filter((item): item is BenchClient => !(item instanceof Error));
  const failures = opened.filter((item): item is Error => item instanceof Error);
  const run: ScaleRun = {
    sockets: slots.length,
    rooms,
    framesPerPeer,
    connectFailures: failures.length,
    connectMs,
    expected: slots.length * framesPerPeer,
    received: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    seqGaps: 0,
    errors: 0,
    firstErrors: [],
    unexpectedCloses: 0,
    deliverMs: Number.NaN,
    framesPerSecond: Number.NaN,
  };
  if (failures[0]) run.firstConnectFailure = failures[0].message;
  try {
    if (failures.length > 0) {
      run.lost = run.expected;
      run.error = `${failures.length} of ${slots.length} sockets failed to connect`;
      return run;
    }
    await deliver(clients, settings, run);
    return run;
  } finally {
    await closeAll(clients);
  }
}

async function deliver(clients: BenchClient[], settings: ScaleSettings, run: ScaleRun): Promise<void> {
  const { peersPerRoom, framesPerPeer } = settings;
  const inboxes: Inbox[] = clients.map(() => ({
    seen: new Uint8Array(framesPerPeer),
    received: 0,
    duplicates: 0,
    outOfOrder: 0,
    last: -1,
  }));
  let totalReceived = 0;
  let lastProgressAt = performance.now();
  let lastArrival = Number.NaN;
  const done = receipt<void>(settings.deliveryTimeoutMs, "scale delivery");
  clients.forEach((client, slot) => {
    const inbox = inboxes[slot] as Inbox;
    const expectedSender = slot - (slot % peersPerRoom) + ((slot + peersPerRoom - 1) % peersPerRoom);
    client.onPayload = (data, receivedAt) => {
      if (data.s !== expectedSender || data.i < 0 || data.i >= framesPerPeer) {
        inbox.duplicates++; // a frame from the wrong sender counts against exactly-once delivery
        return;
      }
      if (inbox.seen[data.i] === 1) {
        inbox.duplicates++;
        return;
      }
      inbox.seen[data.i] = 1;
      if (data.i < inbox.last) inbox.outOfOrder++;
      inbox.last = data.i;
      inbox.received++;
      lastProgressAt = receivedAt;
      lastArrival = receivedAt;
      if (++totalReceived === run.expected) done.resolve();
    };
  });
  const stallWatch = setInterval(() => {
    if (performance.now() - lastProgressAt > settings.stallTimeoutMs) done.resolve(); // give up: counted as lost below
  }, 500);

  const sendStart = performance.now();
  lastProgressAt = sendStart;
  for (let index = 0; index < framesPerPeer; index++) {
    clients.forEach((client, slot) => {
      const target = clients[slot - (slot % peersPerRoom) + ((slot + 1) % peersPerRoom)] as BenchClient;
      client.send(client.dialect.signal(target.peerId, benchData(slot, index)));
    });
    await yieldToIo(); // let arrivals and acks flow between rounds of sends
  }
  try {
    await done.promise;
  } catch (error) {
    run.error = String(error);
  } finally {
    clearInterval(stallWatch);
  }
  await sleep(settings.settleMs); // late duplicates would arrive now
  if (totalReceived < run.expected && run.error === undefined) run.error = `stalled: nothing arrived for ${settings.stallTimeoutMs} ms`;

  run.received = totalReceived;
  run.lost = run.expected - totalReceived;
  run.deliverMs = lastArrival - sendStart;
  run.framesPerSecond = (totalReceived * 1000) / run.deliverMs;
  for (const [slot, inbox] of inboxes.entries()) {
    const client = clients[slot] as BenchClient;
    run.duplicates += inbox.duplicates;
    run.outOfOrder += inbox.outOfOrder;
    run.seqGaps += client.seqGaps;
    run.errors += client.errorCount;
    if (client.unexpectedClose !== undefined) run.unexpectedCloses++;
    for (const text of client.firstErrors) if (run.firstErrors.length < 5) run.firstErrors.push(text);
    client.onPayload = () => {};
  }
}
