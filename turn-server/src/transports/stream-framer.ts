/**
 * Splits a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 §12.5): a STUN message
 * is 20 + its length field; ChannelData is 4 + its length field rounded up to 4 (padding is mandatory on
 * streams). Any other first two bits mean the stream is not TURN (or lost sync): the connection is closed.
 */

/** Receives each whole frame: `data[offset..offset+length)`; `channelData` tells the two kinds apart. */
export interface FrameHandler {
  onFrame(data: Buffer, offset: number, length: number, channelData: boolean): void;
}

/** Largest frame a stream may carry: a STUN message of 20 + 65532 bytes (length is a multiple of 4). */
export const MAX_FRAME_LENGTH = 20 + 0xfffc;

/** Per-connection reassembly state. */
export class StreamFramer {
  private pending: Buffer | null = null;
  private readonly handler: FrameHandler;

  /** A framer delivering frames to `handler` (a bound object: no per-chunk closure). */
  constructor(handler: FrameHandler) {
    this.handler = handler;
  }

  /** Feeds one chunk; false when the stream is not valid TURN framing (close the connection). */
  push(chunk: Buffer): boolean {
    let data = chunk;
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let offset = 0;
    const end = data.length;
    while (end - offset >= 4) {
      const bits = data[offset]! & 0xc0;
      const declared = (data[offset + 2]! << 8) | data[offset + 3]!;
      let frameLength: number;
      let channelData: boolean;
      if (bits === 0x40) {
        frameLength = 4 + ((declared + 3) & ~3);
        channelData = true;
      } else if (bits === 0) {
        // RFC 8489 §5: the length of a STUN message is always a multiple of 4.
        if ((declared & 3) !== 0) return false;
        frameLength = 20 + declared;
        channelData = false;
      } else {
        return false;
      }
      if (end - offset < frameLength) break;
      this.handler.onFrame(data, offset, frameLength, channelData);
      offset += frameLength;
    }
    // Keep the partial frame as its own copy, so a small remainder does not pin a large chunk.
    if (offset < end) this.pending = Buffer.from(data.subarray(offset));
    return true;
  }
}
