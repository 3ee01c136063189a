/**
 * A tiny typed event emitter shared by every client class. EventTarget would do in browsers, but its
 * typing is loose and Node's CustomEvent arrived late; this keeps listeners typed by event name.
 */

/** Maps event names to the payload their listeners receive. */
export type EventMap = Record<string, unknown>;

/** A listener for one event. */
export type Listener<T> = (payload: T) => void;

/** Typed publish/subscribe: `on` returns an unsubscribe function; a throwing listener never breaks the others. */
export class Emitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Subscribes to `type`; returns a function that unsubscribes. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Subscribes to the next `type` event only. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Resolves with the next `type` event (tests and scripts). */
  next<K extends keyof Events>(type: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(type, resolve));
  }

  /** Calls every listener of `type` with `payload`; a listener's exception is reported, not propagated. */
  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // A broken app listener must not stop the client's own state machine (or the other listeners).
        console.error(`switchboard: a "${String(type)}" listener threw`, error);
      }
    }
  }

  /** Removes every listener (used when an object is closed for good). */
  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
