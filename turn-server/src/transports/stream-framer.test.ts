/** Stream framing (RFC 8656 §12.5): frames split anywhere across chunks, ChannelData padding, bad streams. */
import { describe, expect, it } from "vitest";
import { StunMessageBuilder } from "../stun/builder.ts";
import { Attr, MessageClass, Method } from "../stun/constants.ts";
import { StreamFramer } from "./stream-framer.ts";

function collect(): { framer: StreamFramer; frames: { bytes: Buffer; channelData: boolean }[] } {
  const frames: { bytes: Buffer; channelData: boolean }[] = [];
  const framer = new StreamFramer({
    onFrame: (data, offset, length, channelData) =>
      frames.push({ bytes: Buffer.from(data.subarray(offset, offset + length)), channelData }),
  });
  return { framer, frames };
}

const stun = new StunMessageBuilder(Method.Binding, MessageClass.Request, Buffer.alloc(12, 3)).addString(Attr.Software, "abcde").finish();
/** ChannelData with a 5-byte payload, padded to 8 on a stream. */
const channelData = Buffer.from([0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);

describe("StreamFramer", () => {
  it("finds every frame whatever the chunking, padding included", () => {
    const stream = Buffer.concat([stun, channelData, stun, channelData]);
    for (let chunkSize = 1; chunkSize <= stream.length; chunkSize++) {
      const { framer, frames } = collect();
      for (let offset = 0; offset < stream.length; offset += chunkSize)
        expect(framer.push(stream.subarray(offset, offset + chunkSize))).toBe(true);
      expect(frames.map((frame) => frame.channelData)).toEqual([false, true, false, true]);
      expect(frames[0]!.bytes).toEqual(stun);
      expect(frames[1]!.bytes).toEqual(channelData);
    }
  });

  it("rejects streams that are not TURN: first bits 10/11, or a STUN length not a multiple of 4", () => {
    expect(collect().framer.push(Buffer.from([0x80, 0, 0, 0]))).toBe(false);
    expect(collect().framer.push(Buffer.from([0xc0, 0, 0, 0]))).toBe(false);
    const odd = Buffer.from(stun);
    odd.writeUInt16BE(6, 2);
    expect(collect().framer.push(odd)).toBe(false);
  });
});
