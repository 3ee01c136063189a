/**
 * One recipient's durable frames: the per-recipient seq counter and the frames sent but not yet
 * acknowledged. Frames are kept in memory and sent at once; storage.ts persists what is still unacked by
 * a coalesced flush (see docs/decisions.md, "Lossless signaling"), so the hot path never writes.
 */

/** A retained frame: its seq and the exact text that was (or will be) sent. */
export interface RetainedFrame {
  seq: number;
  text: string;
}

/** Seq allocation and retention for one recipient. */
export class Outbox {
  /** The seq the next durable frame gets (seqs start at 1; strictly increasing, gaps possible after a crash). */
  nextSeq: number;
  /** Highest seq the recipient acknowledged (cumulative). */
  ackedSeq: number;
  /** `nextSeq` as last written to storage. */
  persistedNextSeq: number;
  /** Highest seq whose frame is in storage. */
  persistedMaxSeq: number;
  /** `ackedSeq` as last applied to storage (frames ≤ it are deleted there). */
  persistedAckedSeq: number;

  // Parallel arrays with a moving head: acks drop from the front without shifting on every ack.
  #seqs: number[] = [];
  #texts: string[] = [];
  #head = 0;

  constructor(nextSeq = 1, ackedSeq = 0) {
    this.nextSeq = nextSeq;
    this.ackedSeq = ackedSeq;
    this.persistedNextSeq = nextSeq;
    this.persistedMaxSeq = ackedSeq;
    this.persistedAckedSeq = ackedSeq;
  }

  /** Frames retained (sent or queued, not acknowledged). */
  get size(): number {
    return this.#seqs.length - this.#head;
  }

  /** True when storage lags memory (a flush has work to do). */
  get dirty(): boolean {
    return this.persistedNextSeq !== this.nextSeq || this.persistedAckedSeq !== this.ackedSeq;
  }

  /** Allocates the next seq. */
  assign(): number {
    return this.nextSeq++;
  }

  /** Retains a frame until it is acknowledged (seqs must be appended in increasing order). */
  retain(seq: number, text: string): void {
    this.#seqs.push(seq);
    this.#texts.push(text);
  }

  /** Restores a frame loaded from storage (already persisted). */
  restore(seq: number, text: string): void {
    this.retain(seq, text);
    if (seq > this.persistedMaxSeq) this.persistedMaxSeq = seq;
  }

  /** Cumulative ack: drops every frame with seq ≤ `seq`. Returns false when `seq` was never sent. */
  ack(seq: number): boolean {
    if (seq >= this.nextSeq) return false;
    if (seq <= this.ackedSeq) return true;
    this.ackedSeq = seq;
    const seqs = this.#seqs;
    let head = this.#head;
    while (head < seqs.length && (seqs[head] as number) <= seq) head++;
    this.#head = head;
    if (head > 64 && head * 2 > seqs.length) this.#compact();
    return true;
  }

  /** The retained frames with seq > `lastSeq`, in order (what a resuming client missed). */
  since(lastSeq: number): RetainedFrame[] {
    const frames: RetainedFrame[] = [];
    for (let index = this.#head; index < this.#seqs.length; index++) {
      const seq = this.#seqs[index] as number;
      if (seq > lastSeq) frames.push({ seq, text: this.#texts[index] as string });
    }
    return frames;
  }

  /** Retained frames not yet in storage (seq > persistedMaxSeq), in order. */
  unpersisted(): RetainedFrame[] {
    return this.since(this.persistedMaxSeq);
  }

  /** Records that storage now matches memory. */
  markPersisted(): void {
    this.persistedNextSeq = this.nextSeq;
    this.persistedAckedSeq = this.ackedSeq;
    const last = this.#seqs.length > this.#head ? (this.#seqs[this.#seqs.length - 1] as number) : this.ackedSeq;
    this.persistedMaxSeq = Math.max(this.persistedMaxSeq, last);
  }

  #compact(): void {
    this.#seqs = this.#seqs.slice(this.#head);
    this.#texts = this.#texts.slice(this.#head);
    this.#head = 0;
  }
}
