/**
 * Per-allocation bandwidth cap (`--max-bps`): a token bucket in bytes, refilled continuously, holding at
 * most one second of traffic. Over-budget packets are dropped (and counted), never queued: queueing
 * media only adds latency.
 */

/** A byte budget refilled at a fixed rate. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly bytesPerMillisecond: number;
  private readonly capacity: number;

  /** A full bucket of `bytesPerSecond` refilling at that rate, starting at `now` (ms). */
  constructor(bytesPerSecond: number, now: number) {
    this.capacity = bytesPerSecond;
    this.tokens = bytesPerSecond;
    this.bytesPerMillisecond = bytesPerSecond / 1000;
    this.updatedAt = now;
  }

  /** Spends `bytes` if the budget allows; false means drop the packet. */
  take(bytes: number, now: number): boolean {
    if (now > this.updatedAt) {
      const refilled = this.tokens + (now - this.updatedAt) * this.bytesPerMillisecond;
      this.tokens = Math.min(refilled, this.capacity);
      this.updatedAt = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
