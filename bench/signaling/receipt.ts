/** A one-shot wait that a frame handler resolves and a timer bounds: every wait in the harness ends. */

/** A pending receipt. */
export interface Receipt<T> {
  promise: Promise<T>;
  /** Resolves the wait (later calls are ignored). */
  resolve(value: T): void;
  /** True until resolved or timed out. */
  readonly pending: boolean;
}

/** Starts a wait that rejects with "`what` timed out" after `timeoutMs`. */
export function receipt<T>(timeoutMs: number, what: string): Receipt<T> {
  let settle: ((value: T) => void) | undefined;
  let fail: ((error: Error) => void) | undefined;
  let pending = true;
  const promise = new Promise<T>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => {
    pending = false;
    fail?.(new Error(`${what} timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  return {
    promise,
    resolve(value: T) {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      settle?.(value);
    },
    get pending() {
      return pending;
    },
  };
}
