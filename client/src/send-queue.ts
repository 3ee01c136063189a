/**
 * Sending side of lossless signaling (docs/protocol.md, "Client sequence numbers"): durable frames wait here
 * until they can be sent, get their `cseq` when they are sent, and stay until a `client-ack` (or a resumed
 * welcome's `lastClientSeq`) says the room stored them. After a drop the frames the room never processed are
 * sent again, in order; the room drops any it had already processed, so none is lost and none is seen twice.
 */

/** A durable frame: its JSON text without `cseq`, and the cseq it was sent with (0 until first sent). */
interface QueuedFrame {
  text: string;
  cseq: number;
}

/** Bounds of a SendQueue. */
export interface SendQueueOptions {
  /** Frames waiting to be sent; beyond it the oldest never-sent ones are dropped. */
  maxQueued: number;
  /** Frames sent and not yet acknowledged (the send window); when full, sending waits for a `client-ack`. */
  maxUnacked: number;
}

/** Adds `cseq` to a frame's JSON text (an object, so its text ends with `}`), without parsing it again. */
export function withClientSeq(text: string, cseq: number): string {
  return `${text.slice(0, -1)},"cseq":${cseq}}`;
}

/** Longest text withClientSeq adds (`,"cseq":` and a safe integer), for size checks before a cseq is known. */
export const CLIENT_SEQ_MAX_CHARS = 24;

/** Pending and unacknowledged durable frames of one room connection, numbered per session. */
export class SendQueue {
  readonly #options: SendQueueOptions;
  /** Waiting to be sent, in order; frames sent before and due again come first, still numbered. */
  #pending: QueuedFrame[] = [];
  /** Sent and not yet acknowledged, in cseq order. */
  #unacked: QueuedFrame[] = [];
  #lastClientSeq = 0;
  /**
   * Whether the room numbers and acknowledges client frames (its welcome carried `lastClientSeq`). Without it
   * (an older server) frames are sent as protocol v1 frames and forgotten once sent.
   */
  numbering = false;

  constructor(options: SendQueueOptions) {
    this.#options = options;
  }

  /** Frames waiting to be sent. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Frames sent and not yet acknowledged. */
  get unacked(): number {
    return this.#unacked.length;
  }

  /** The highest cseq given to a frame in this session. */
  get lastClientSeq(): number {
    return this.#lastClientSeq;
  }

  /** True when a frame is waiting and the send window has room for it. */
  get ready(): boolean {
    return this.#pending.length > 0 && (!this.numbering || this.#unacked.length < this.#options.maxUnacked);
  }

  /** Queues a frame; returns how many of the oldest never-sent frames the bound dropped to make room (usually 0). */
  push(text: string): number {
    this.#pending.push({ text, cseq: 0 });
    const excess = this.#pending.length - this.#options.maxQueued;
    if (excess <= 0) return 0;
    // Frames already numbered must keep their place: dropping one would leave a gap the room waits for.
    const firstUnsent = this.#pending.findIndex((frame) => frame.cseq === 0);
    const dropped = Math.min(excess, this.#pending.length - firstUnsent);
    this.#pending.splice(firstUnsent, dropped);
    return dropped;
  }

  /** Takes the next frame to send (check `ready` first) and returns its text, numbered when the room numbers. */
  take(): string {
    const frame = this.#pending.shift();
    if (!frame) throw new Error("SendQueue.take: nothing is ready");
    if (!this.numbering) return frame.text;
    if (frame.cseq === 0) frame.cseq = ++this.#lastClientSeq;
    this.#unacked.push(frame);
    return withClientSeq(frame.text, frame.cseq);
  }

  /** A `client-ack`: forgets every frame with cseq ≤ `cseq`. Returns whether anything was forgotten. */
  acknowledge(cseq: number): boolean {
    const before = this.#unacked.length + this.#pending.length;
    this.#unacked = this.#unacked.filter((frame) => frame.cseq > cseq);
    this.#pending = this.#pending.filter((frame) => frame.cseq === 0 || frame.cseq > cseq);
    return this.#unacked.length + this.#pending.length !== before;
  }

  /**
   * Sends the unacknowledged frames from `cseq` on again, in order, before anything new: the room did not
   * process `cseq` (rate-limited, or an earlier frame was), so it refused the frames after it too.
   */
  rewind(cseq: number): void {
    const index = this.#unacked.findIndex((frame) => frame.cseq >= cseq);
    if (index < 0) return;
    this.#pending.unshift(...this.#unacked.splice(index));
  }

  /**
   * A resumed session: the room processed and stored every frame up to `lastClientSeq` (the welcome's), so
   * those are forgotten and the rest are sent again, in order, before new frames. They are renumbered from
   * `lastClientSeq + 1`, which changes nothing unless the room lost track of frames it had acknowledged.
   */
  resume(lastClientSeq: number): void {
    const kept = [...this.#unacked, ...this.#pending].filter((frame) => frame.cseq === 0 || frame.cseq > lastClientSeq);
    this.#unacked = [];
    this.#lastClientSeq = lastClientSeq;
    for (const frame of kept) if (frame.cseq !== 0) frame.cseq = ++this.#lastClientSeq;
    this.#pending = kept;
  }

  /**
   * A new session (first join, failed resume) or a room that does not number: frames already sent are
   * forgotten — the old session cannot say whether they arrived — and numbering starts again at 1.
   */
  restart(): void {
    this.#unacked = [];
    this.#pending = this.#pending.filter((frame) => frame.cseq === 0);
    this.#lastClientSeq = 0;
  }

  /** Drops the waiting frames whose text matches `predicate` (never-sent ones only). */
  dropPending(predicate: (text: string) => boolean): void {
    this.#pending = this.#pending.filter((frame) => frame.cseq !== 0 || !predicate(frame.text));
  }

  /** Whether a waiting frame's text matches `predicate`. */
  hasPending(predicate: (text: string) => boolean): boolean {
    return this.#pending.some((frame) => predicate(frame.text));
  }

  /** Forgets everything (the room connection ended). */
  clear(): void {
    this.#pending = [];
    this.#unacked = [];
    this.#lastClientSeq = 0;
  }
}
