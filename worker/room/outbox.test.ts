import { describe, expect, it } from "vitest";
import { Outbox } from "./outbox.ts";

function fill(outbox: Outbox, count: number): void {
  for (let index = 0; index < count; index++) {
    const seq = outbox.assign();
    outbox.retain(seq, `frame-${seq}`);
  }
}

describe("Outbox", () => {
  it("assigns increasing seqs from 1 and retains until a cumulative ack", () => {
    const outbox = new Outbox();
    fill(outbox, 5);
    expect(outbox.size).toBe(5);
    expect(outbox.ack(3)).toBe(true);
    expect(outbox.size).toBe(2);
    expect(outbox.since(0).map((frame) => frame.seq)).toEqual([4, 5]);
    expect(outbox.ack(2)).toBe(true); // an older ack changes nothing
    expect(outbox.size).toBe(2);
    expect(outbox.ack(6)).toBe(false); // never sent
    expect(outbox.ackedSeq).toBe(3);
  });

  it("replays exactly the frames after lastSeq, in order", () => {
    const outbox = new Outbox();
    fill(outbox, 4);
    expect(outbox.since(2)).toEqual([
      { seq: 3, text: "frame-3" },
      { seq: 4, text: "frame-4" },
    ]);
    expect(outbox.since(4)).toEqual([]);
  });

  it("tracks what storage lacks", () => {
    const outbox = new Outbox();
    expect(outbox.dirty).toBe(false);
    fill(outbox, 3);
    expect(outbox.dirty).toBe(true);
    expect(outbox.unpersisted().map((frame) => frame.seq)).toEqual([1, 2, 3]);
    outbox.markPersisted();
    expect(outbox.dirty).toBe(false);
    expect(outbox.persistedNextSeq).toBe(4);
    fill(outbox, 1);
    expect(outbox.unpersisted().map((frame) => frame.seq)).toEqual([4]);
    outbox.ack(4);
    expect(outbox.dirty).toBe(true);
  });

  it("stays correct over many acks (compaction)", () => {
    const outbox = new Outbox();
    for (let round = 0; round < 50; round++) {
      fill(outbox, 10);
      outbox.ack(outbox.nextSeq - 3); // keeps the last two
    }
    expect(outbox.since(0).map((frame) => frame.seq)).toEqual([499, 500]);
  });

  it("restores stored frames as persisted", () => {
    const outbox = new Outbox(8, 5);
    outbox.restore(6, "six");
    outbox.restore(7, "seven");
    expect(outbox.unpersisted()).toEqual([]);
    expect(outbox.since(5).map((frame) => frame.text)).toEqual(["six", "seven"]);
    expect(outbox.assign()).toBe(8);
  });
});
