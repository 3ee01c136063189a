import { describe, expect, it } from "vitest";
import { checkClientFrame, clientAckFrame, durablePrefix, errorFrame, exceedsBytes, peekClientSeq, utf8Length, withSeq } from "./frames.ts";

describe("checkClientFrame", () => {
  it("accepts a valid frame and strips unknown fields such as a spoofed from", () => {
    expect(checkClientFrame('{"type":"signal","to":"p1","data":{"a":1},"from":"evil"}', 1024)).toEqual({
      ok: true,
      message: { type: "signal", to: "p1", data: { a: 1 } },
    });
  });

  it("refuses in order: binary, size (before parsing), JSON, schema", () => {
    expect(checkClientFrame(new ArrayBuffer(2), 1024)).toMatchObject({ code: "binary_not_supported" });
    expect(checkClientFrame(`{${"x".repeat(2000)}`, 1024)).toMatchObject({ code: "too_large" });
    expect(checkClientFrame("{nope", 1024)).toMatchObject({ code: "bad_json" });
    expect(checkClientFrame('"text"', 1024)).toMatchObject({ code: "bad_message", message: expect.stringMatching(/object/) });
    expect(checkClientFrame('{"data":1}', 1024)).toMatchObject({ code: "bad_message", message: expect.stringMatching(/type/) });
    expect(checkClientFrame('{"type":"fly"}', 1024)).toMatchObject({ code: "bad_message", message: 'unknown message type "fly"' });
    expect(checkClientFrame('{"type":"ack","seq":-1}', 1024)).toMatchObject({
      code: "bad_message",
      message: expect.stringMatching(/^invalid ack message: seq/),
    });
  });
});

describe("client sequence numbers in frames", () => {
  it("keeps a valid cseq, names it on a schema refusal, and refuses one on an ephemeral broadcast", () => {
    expect(checkClientFrame('{"type":"signal","to":"p1","data":1,"cseq":3}', 1024)).toEqual({
      ok: true,
      message: { type: "signal", to: "p1", data: 1, cseq: 3 },
    });
    expect(checkClientFrame('{"type":"signal","data":1,"cseq":4}', 1024)).toMatchObject({ code: "bad_message", cseq: 4 });
    expect(checkClientFrame('{"type":"signal","to":"p1","data":1,"cseq":0}', 1024)).toMatchObject({ code: "bad_message" });
    expect(checkClientFrame('{"type":"signal","to":"p1","data":1,"cseq":0}', 1024)).not.toHaveProperty("cseq");
    expect(checkClientFrame('{"type":"broadcast","data":1,"ephemeral":true,"cseq":5}', 1024)).toMatchObject({
      code: "bad_message",
      cseq: 5,
    });
    // Frames without a cseq field keep none (ack, quality, leave strip it as an unknown field).
    expect(checkClientFrame('{"type":"ack","seq":1,"cseq":6}', 1024)).toEqual({ ok: true, message: { type: "ack", seq: 1 } });
  });

  it("peeks the cseq of a frame refused before parsing, within the size limit only", () => {
    expect(peekClientSeq('{"type":"broadcast","data":1,"cseq":9}', 1024)).toBe(9);
    expect(peekClientSeq('{"type":"broadcast","data":1,"cseq":9}', 10)).toBeUndefined();
    expect(peekClientSeq("{nope", 1024)).toBeUndefined();
    expect(peekClientSeq('{"cseq":1.5}', 1024)).toBeUndefined();
    expect(peekClientSeq(new ArrayBuffer(4), 1024)).toBeUndefined();
  });

  it("writes client-ack and error frames with their cseq facts", () => {
    expect(JSON.parse(clientAckFrame(12))).toEqual({ type: "client-ack", cseq: 12 });
    expect(JSON.parse(errorFrame("out_of_order", "m", { cseq: 5, lastClientSeq: 3 }))).toEqual({
      type: "error",
      code: "out_of_order",
      message: "m",
      cseq: 5,
      lastClientSeq: 3,
    });
    expect(JSON.parse(errorFrame("unknown_peer", "m", { cseq: undefined }))).toEqual({ type: "error", code: "unknown_peer", message: "m" });
  });
});

describe("byte lengths", () => {
  it("counts UTF-8 bytes, including surrogate pairs", () => {
    expect(utf8Length("aé€😀")).toBe(new TextEncoder().encode("aé€😀").length);
    expect(exceedsBytes("€".repeat(10), 30)).toBe(false);
    expect(exceedsBytes("€".repeat(10), 29)).toBe(true);
  });
});

describe("durable frame text", () => {
  it("adds the per-recipient seq to a once-serialised body", () => {
    const prefix = durablePrefix({ type: "peer-left", peerId: "p1", reason: "left" });
    expect(JSON.parse(withSeq(prefix, 7))).toEqual({ type: "peer-left", peerId: "p1", reason: "left", seq: 7 });
  });
});
