/**
 * Workload 2 — burst throughput: A writes N signals to B as fast as the socket takes them (texts encoded
 * beforehand, so the clock measures relay, not JSON.stringify); frames/s = N / (last arrival − first send).
 * Every index must arrive exactly once; order is checked too.
 */
import { performance } from "node:perf_hooks";
import type { Pair } from "./latency.ts";
import { receipt } from "./receipt.ts";
import { benchData } from "./targets.ts";

/** One burst's outcome. */
export interface BurstRun {
  frames: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  elapsedMs: number;
  framesPerSecond: number;
  /** Set when the burst did not complete in time. */
  error?: string;
}

/** Sends `frames` signals from pair.sender to pair.receiver at once and waits for all (bounded by `timeoutMs`). */
export async function burstRound(pair: Pair, frames: number, timeoutMs: number): Promise<BurstRun> {
  const { sender, receiver } = pair;
  const dialect = sender.dialect;
  const first = pair.nextIndex;
  pair.nextIndex += frames;
  const texts: string[] = [];
  for (let offset = 0; offset < frames; offset++) texts.push(dialect.signal(receiver.peerId, benchData(0, first + offset)));
  const seen = new Uint8Array(frames);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let lastOffset = -1;
  const done = receipt<number>(timeoutMs, `${dialect.name} burst of ${frames}`);
  receiver.onPayload = (data, receivedAt) => {
    const offset = data.i - first;
    if (offset < 0 || offset >= frames) return;
    if (seen[offset] === 1) {
      duplicates++;
      return;
    }
    seen[offset] = 1;
    if (offset < lastOffset) outOfOrder++;
    lastOffset = offset;
    if (++received === frames) done.resolve(receivedAt);
  };
  const startedAt = performance.now();
  for (const text of texts) sender.send(text);
  try {
    const finishedAt = await done.promise;
    const elapsedMs = finishedAt - startedAt;
    return { frames, received, duplicates, outOfOrder, elapsedMs, framesPerSecond: (frames * 1000) / elapsedMs };
  } catch (error) {
    return { frames, received, duplicates, outOfOrder, elapsedMs: Number.NaN, framesPerSecond: Number.NaN, error: String(error) };
  } finally {
    receiver.onPayload = () => {};
  }
}
