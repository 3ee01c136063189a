/**
 * Workload 1 — one-at-a-time latency: A sends a signal to B, the next only after B received the previous
 * one; the sample is send → arrival at B on one high-resolution clock (both clients live in this process).
 * Each round first sends unmeasured warm-up frames (a room may have hibernated while others were measured).
 */
import { performance } from "node:perf_hooks";
import type { BenchClient } from "./bench-client.ts";
import { type Receipt, receipt } from "./receipt.ts";
import { benchData } from "./targets.ts";

/** Sizes of one round. */
export interface LatencyRound {
  warmUpFrames: number;
  measuredFrames: number;
  frameTimeoutMs: number;
}

/** A sender and a receiver in one room, and the next frame index to use. */
export interface Pair {
  sender: BenchClient;
  receiver: BenchClient;
  nextIndex: number;
}

/** Runs one round on `pair`, appending measured latencies (ms) to `samples`. Throws when a frame is lost. */
export async function latencyRound(pair: Pair, round: LatencyRound, samples: number[]): Promise<void> {
  const { sender, receiver } = pair;
  const dialect = sender.dialect;
  let waiting: Receipt<number> | undefined;
  let expected = -1;
  receiver.onPayload = (data, receivedAt) => {
    if (data.i === expected) waiting?.resolve(receivedAt);
  };
  try {
    for (let sent = 0; sent < round.warmUpFrames + round.measuredFrames; sent++) {
      expected = pair.nextIndex++;
      const text = dialect.signal(receiver.peerId, benchData(0, expected));
      waiting = receipt<number>(round.frameTimeoutMs, `${dialect.name} latency frame ${expected}`);
      const sentAt = performance.now();
      sender.send(text);
      const receivedAt = await waiting.promise;
      if (sent >= round.warmUpFrames) samples.push(receivedAt - sentAt);
    }
  } finally {
    receiver.onPayload = () => {};
  }
}
