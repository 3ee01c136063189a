import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AckBatcher } from "./ack-batcher.ts";

describe("AckBatcher", () => {
  let sent: number[];
  let connected: boolean;
  const send = (seq: number) => {
    if (!connected) return false;
    sent.push(seq);
    return true;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    connected = true;
  });
  afterEach(() => vi.useRealTimers());

  it("acknowledges cumulatively once per interval, not per frame", () => {
    const acks = new AckBatcher(send, { intervalMs: 100, maxFrames: 32 });
    for (let seq = 1; seq <= 10; seq++) expect(acks.receive(seq)).toBe(true);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(99);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([10]);
    expect(acks.ackedSeq).toBe(10);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([10]);
  });

  it("acks at once after maxFrames new frames", () => {
    const acks = new AckBatcher(send, { intervalMs: 100, maxFrames: 32 });
    for (let seq = 1; seq <= 70; seq++) acks.receive(seq);
    expect(sent).toEqual([32, 64]);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([32, 64, 70]);
  });

  it("drops duplicates (seq ≤ last seen) but still acks them so the server can let go", () => {
    const acks = new AckBatcher(send, { intervalMs: 50 });
    expect([1, 2, 3].map((seq) => acks.receive(seq))).toEqual([true, true, true]);
    vi.advanceTimersByTime(50);
    expect([2, 3, 1].map((seq) => acks.receive(seq))).toEqual([false, false, false]);
    expect(acks.lastSeq).toBe(3);
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([3, 3]);
    expect(acks.receive(4)).toBe(true);
    expect(acks.receive(4)).toBe(false);
  });

  it("keeps lastSeq while disconnected and acks it once the socket is back", () => {
    const acks = new AckBatcher(send, { intervalMs: 10 });
    connected = false;
    acks.receive(1);
    acks.receive(2);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([]);
    expect(acks.ackedSeq).toBe(0);
    expect(acks.lastSeq).toBe(2);
    connected = true;
    acks.flush();
    expect(sent).toEqual([2]);
  });

  it("reset() starts a fresh session or adopts the resume point", () => {
    const acks = new AckBatcher(send, { intervalMs: 10 });
    acks.receive(5);
    acks.reset(5);
    expect(acks.ackedSeq).toBe(5);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([]);
    acks.reset();
    expect(acks.lastSeq).toBe(0);
    expect(acks.receive(1)).toBe(true);
  });
});
