/**
 * One sender's client sequence numbers (`cseq`, docs/protocol.md "Client sequence numbers"): the other half of
 * lossless signaling. A client numbers its durable frames 1, 2, 3, …; the room processes them strictly in order,
 * drops re-sent duplicates, and acknowledges (`client-ack`) only what storage holds, so a frame leaves the
 * client's buffer only once neither a dropped socket nor a restart can lose it.
 */

/** How an inbound cseq relates to what was processed: the next one, an already processed one, or one after a gap. */
export type ClientSeqOrder = "next" | "duplicate" | "gap";

/** Processed, stored and acknowledged cseq of one session. */
export class ClientSeq {
  /** Highest cseq processed (memory). A refused frame counts: its error frame is the answer. */
  processed: number;
  /** `processed` as last written to storage (with the effects of those frames, in the same transaction). */
  persisted: number;
  /** Highest cseq told to the current connection (its welcome or a `client-ack`). */
  acknowledged: number;

  constructor(stored = 0) {
    this.processed = stored;
    this.persisted = stored;
    this.acknowledged = stored;
  }

  /** Classifies `cseq` and, when it is the next one, records it as processed. */
  accept(cseq: number): ClientSeqOrder {
    if (cseq <= this.processed) return "duplicate";
    if (cseq !== this.processed + 1) return "gap";
    this.processed = cseq;
    return "next";
  }

  /** True when storage lags memory. */
  get dirty(): boolean {
    return this.persisted !== this.processed;
  }

  /** Records that storage now holds `processed`. */
  markPersisted(): void {
    this.persisted = this.processed;
  }

  /** The cseq a `client-ack` should now carry (stored and not yet told), or 0 when none is due; marks it told. */
  takeAck(): number {
    if (this.persisted <= this.acknowledged) return 0;
    this.acknowledged = this.persisted;
    return this.persisted;
  }

  /** A new connection's welcome carries `processed` (already stored): nothing older needs a `client-ack`. */
  welcomed(): void {
    this.acknowledged = this.processed;
  }
}
