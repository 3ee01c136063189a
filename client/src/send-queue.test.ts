import { describe, expect, it } from "vitest";
import { SendQueue, withClientSeq } from "./send-queue.ts";

function frame(n: number): string {
  return JSON.stringify({ type: "broadcast", data: n });
}

/** Sends everything that is ready; returns the texts. */
function drain(queue: SendQueue): string[] {
  const sent: string[] = [];
  while (queue.ready) sent.push(queue.take());
  return sent;
}

describe("SendQueue", () => {
  it("numbers frames when sent and keeps them until a cumulative client-ack", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 10 });
    queue.numbering = true;
    for (let n = 1; n <= 4; n++) queue.push(frame(n));
    expect(drain(queue)).toEqual([1, 2, 3, 4].map((n) => withClientSeq(frame(n), n)));
    expect(JSON.parse(withClientSeq(frame(1), 1))).toEqual({ type: "broadcast", data: 1, cseq: 1 });
    expect(queue.unacked).toBe(4);
    expect(queue.acknowledge(2)).toBe(true);
    expect(queue.unacked).toBe(2);
    expect(queue.acknowledge(2)).toBe(false);
    expect(queue.acknowledge(9)).toBe(true);
    expect(queue.unacked).toBe(0);
  });

  it("stops at a full send window until an acknowledgement frees it", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 2 });
    queue.numbering = true;
    for (let n = 1; n <= 3; n++) queue.push(frame(n));
    expect(drain(queue)).toHaveLength(2);
    expect(queue.pending).toBe(1);
    queue.acknowledge(1);
    expect(drain(queue)).toEqual([withClientSeq(frame(3), 3)]);
  });

  it("on resume forgets what the room processed and sends the rest first, in order", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 10 });
    queue.numbering = true;
    for (let n = 1; n <= 4; n++) queue.push(frame(n));
    drain(queue);
    queue.push(frame(5)); // written while disconnected
    queue.resume(2);
    expect(queue.unacked).toBe(0);
    expect(drain(queue)).toEqual([3, 4, 5].map((n) => withClientSeq(frame(n), n)));
  });

  it("on a new session forgets frames already sent and numbers from 1 again", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 10 });
    queue.numbering = true;
    queue.push(frame(1));
    drain(queue);
    queue.push(frame(2));
    queue.restart();
    expect(drain(queue)).toEqual([withClientSeq(frame(2), 1)]);
  });

  it("rewinds to a refused frame: it and every later one go again, before new frames", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 10 });
    queue.numbering = true;
    for (let n = 1; n <= 4; n++) queue.push(frame(n));
    drain(queue);
    queue.push(frame(5));
    queue.rewind(3);
    expect(queue.unacked).toBe(2);
    expect(drain(queue)).toEqual([3, 4, 5].map((n) => withClientSeq(frame(n), n)));
    queue.rewind(99); // nothing from there: no change
    expect(queue.pending).toBe(0);
  });

  it("when full drops the oldest frames never sent, never a numbered one", () => {
    const queue = new SendQueue({ maxQueued: 3, maxUnacked: 10 });
    queue.numbering = true;
    for (let n = 1; n <= 2; n++) queue.push(frame(n));
    drain(queue);
    queue.rewind(1); // 1 and 2 wait again, numbered
    expect(queue.push(frame(3))).toBe(0);
    expect(queue.push(frame(4))).toBe(1); // 3 is dropped, not 1 or 2
    expect(drain(queue)).toEqual([withClientSeq(frame(1), 1), withClientSeq(frame(2), 2), withClientSeq(frame(4), 3)]);
  });

  it("sends plain protocol v1 frames and keeps nothing when the room does not number", () => {
    const queue = new SendQueue({ maxQueued: 10, maxUnacked: 1 });
    queue.push(frame(1));
    queue.push(frame(2));
    expect(drain(queue)).toEqual([frame(1), frame(2)]);
    expect(queue.unacked).toBe(0);
  });
});
