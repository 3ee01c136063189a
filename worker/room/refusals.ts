/**
 * Counts refused frames per connection. A refusal answers with an error frame and keeps the connection;
 * a connection that keeps being refused is closed with CloseCode.abuse. The threshold is fixed (not a var)
 * because it guards the room, not an application policy.
 */

/** Refused frames a connection may send within ABUSE_WINDOW_MS before it is closed for abuse. */
export const ABUSE_MAX_REFUSALS = 30;
/** The window ABUSE_MAX_REFUSALS is counted in. */
export const ABUSE_WINDOW_MS = 10_000;

/** Fixed-window refusal counter of one connection. */
export class RefusalCounter {
  #windowStart = 0;
  #count = 0;

  /** Records a refusal at `now`; true when the connection has now crossed the abuse threshold. */
  record(now: number): boolean {
    if (now - this.#windowStart >= ABUSE_WINDOW_MS) {
      this.#windowStart = now;
      this.#count = 0;
    }
    this.#count += 1;
    return this.#count > ABUSE_MAX_REFUSALS;
  }
}
