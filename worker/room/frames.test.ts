import { describe, expect, it } from "vitest";
import { checkClientFrame, durablePrefix, exceedsBytes, utf8Length, withSeq } from "./frames.ts";

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
