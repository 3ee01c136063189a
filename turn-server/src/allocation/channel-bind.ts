/**
 * A channel binding (RFC 8656 §12): channel number ⇄ peer transport address, so data travels with a
 * 4-byte ChannelData header instead of a 36+ byte Send/Data indication. Lives 600 s from bind/refresh;
 * after that the pair stays reserved for 300 s (§12: no rebinding either side to something else).
 */
import type { PeerPermission } from "./permission.ts";

/** One bound channel. */
export class ChannelBinding {
  readonly number: number;
  /** The peer IP's permission entry (shared by every channel to that IP). */
  readonly peer: PeerPermission;
  readonly peerPort: number;
  /** When the binding stops carrying data (ms). */
  expiresAt: number;

  /** Binds `number` to `peer`:`peerPort` until `expiresAt`. */
  constructor(number: number, peer: PeerPermission, peerPort: number, expiresAt: number) {
    this.number = number;
    this.peer = peer;
    this.peerPort = peerPort;
    this.expiresAt = expiresAt;
  }
}
