/**
 * Receiving side of lossless signaling: drops frames already seen (seq ≤ last seen) and acknowledges
 * cumulatively, batched — one `ack` per `intervalMs` or per `maxFrames` new frames, whichever comes first —
 * so a burst of signals costs a handful of acks, not one per frame.
 */

/** Batching settings; every field has a default. */
export interface AckBatcherOptions {
  /** Longest wait before an ack is sent, in ms (default 100). */
  intervalMs?: number;
  /** Send at once after this many unacknowledged new frames (default 32). */
  maxFrames?: number;
}

/** Tracks the highest seq seen and sends cumulative acks through `send`. */
export class AckBatcher {
  readonly #send: (seq: number) => boolean;
  readonly #intervalMs: number;
  readonly #maxFrames: number;
  #lastSeq = 0;
  #ackedSeq = 0;
  #framesSinceAck = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `send(seq)` transmits `{"type":"ack","seq"}` and returns false when it could not (socket down). */
  constructor(send: (seq: number) => boolean, options: AckBatcherOptions = {}) {
    this.#send = send;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#maxFrames = options.maxFrames ?? 32;
  }

  /** Highest seq accepted so far (what `?lastSeq=` carries on resume). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Highest seq acknowledged to the server. */
  get ackedSeq(): number {
    return this.#ackedSeq;
  }

  /**
   * Records a durable frame's seq. Returns true when it is new and must be processed, false for a
   * duplicate (seq ≤ last seen: a retransmission after resume). Duplicates still prompt an ack so the
   * server can drop what it retained.
   */
  receive(seq: number): boolean {
    const fresh = seq > this.#lastSeq;
    if (fresh) {
      this.#lastSeq = seq;
      this.#framesSinceAck++;
    }
    if (this.#framesSinceAck >= this.#maxFrames) this.flush();
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
    return fresh;
  }

  /** Sends the cumulative ack now (if anything is unacknowledged or a duplicate asked for one). */
  flush(): void {
    this.#cancelTimer();
    if (this.#send(this.#lastSeq)) {
      this.#ackedSeq = this.#lastSeq;
      this.#framesSinceAck = 0;
    }
  }

  /**
   * Starts over: `lastSeq` 0 for a fresh session, or the value the server just accepted on resume
   * (`?lastSeq=` is an implicit ack of everything up to it).
   */
  reset(lastSeq = 0): void {
    this.#cancelTimer();
    this.#lastSeq = lastSeq;
    this.#ackedSeq = lastSeq;
    this.#framesSinceAck = 0;
  }

  /** Stops the pending timer (socket closed; the next resume carries lastSeq instead). */
  cancel(): void {
    this.#cancelTimer();
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
