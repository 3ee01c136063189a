/**
 * The relay's per-packet encoders: ChannelData (RFC 8656 §12.4) and Data indications (RFC 8656 §11.4).
 * Each packet gets one pooled `Buffer.allocUnsafe` (a slice of Node's 8 KiB pool for small sizes) that
 * holds header and payload together: a shared, reused header buffer is NOT safe with
 * `socket.send([header, payload])`, because when the kernel queue is full libuv queues the send and keeps
 * a pointer to the header, which the next packet would overwrite before it goes out.
 */
import { randomFillSync } from "node:crypto";
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, MessageClass, Method } from "./constants.ts";
import { encodeMessageType } from "./message.ts";
import { writeXorAddress } from "./xor-address.ts";

/** ChannelData header: channel number and length (RFC 8656 §12.4). */
export const CHANNEL_DATA_HEADER_LENGTH = 4;

/**
 * Frames `payload[start..end)` as ChannelData on `channelNumber`. `pad` rounds the frame to a multiple of
 * 4 bytes, required over TCP/TLS (RFC 8656 §12.5) and unnecessary over UDP.
 */
export function encodeChannelData(channelNumber: number, payload: Buffer, start: number, end: number, pad: boolean): Buffer {
  const length = end - start;
  const total = CHANNEL_DATA_HEADER_LENGTH + (pad ? (length + 3) & ~3 : length);
  const frame = Buffer.allocUnsafe(total);
  frame[0] = channelNumber >>> 8;
  frame[1] = channelNumber & 0xff;
  frame[2] = length >>> 8;
  frame[3] = length & 0xff;
  payload.copy(frame, CHANNEL_DATA_HEADER_LENGTH, start, end);
  for (let i = CHANNEL_DATA_HEADER_LENGTH + length; i < total; i++) frame[i] = 0;
  return frame;
}

const DATA_INDICATION_TYPE = encodeMessageType(Method.Data, MessageClass.Indication);
/** Transaction ids of indications: 8 random bytes per process, then a counter (RFC 8489 §6: unique per message). */
const transactionPrefix = randomFillSync(Buffer.alloc(8));
let transactionCounter = 0;

/** Writes a fresh indication transaction id at bytes 8–19 of `target`. */
export function writeIndicationTransactionId(target: Uint8Array): void {
  target.set(transactionPrefix, 8);
  transactionCounter = (transactionCounter + 1) >>> 0;
  target[16] = transactionCounter >>> 24;
  target[17] = (transactionCounter >>> 16) & 0xff;
  target[18] = (transactionCounter >>> 8) & 0xff;
  target[19] = transactionCounter & 0xff;
}

/**
 * A Data indication carrying `payload[start..end)` from the peer `peerIp`:`peerPort` (RFC 8656 §11.4):
 * XOR-PEER-ADDRESS then DATA, no integrity (indications are not authenticated).
 */
export function encodeDataIndication(peerIp: Uint8Array, peerPort: number, payload: Buffer, start: number, end: number): Buffer {
  const length = end - start;
  const addressLength = peerIp.length === 4 ? 8 : 20;
  const padded = (length + 3) & ~3;
  const bodyLength = 4 + addressLength + 4 + padded;
  const message = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  message.writeUInt16BE(DATA_INDICATION_TYPE, 0);
  message.writeUInt16BE(bodyLength, 2);
  message.writeUInt32BE(MAGIC_COOKIE, 4);
  writeIndicationTransactionId(message);
  let offset = HEADER_LENGTH;
  message.writeUInt16BE(Attr.XorPeerAddress, offset);
  message.writeUInt16BE(addressLength, offset + 2);
  writeXorAddress(message, offset + 4, peerIp, peerPort);
  offset += 4 + addressLength;
  message.writeUInt16BE(Attr.Data, offset);
  message.writeUInt16BE(length, offset + 2);
  payload.copy(message, offset + 4, start, end);
  for (let i = offset + 4 + length; i < message.length; i++) message[i] = 0;
  return message;
}
